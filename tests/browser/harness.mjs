// Shared by the browser tests and the benchmark: a static file server on loopback and headless Chromium.

import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveStatic } from '../../scripts/static-server.mjs';

/** The installed consumer project that scripts/test.mjs prepared. */
export function consumerDir() {
  const dir = process.env.AETHER_CONSUMER;
  if (!dir) throw new Error('AETHER_CONSUMER is not set: run the tests through `npm test`');
  return dir;
}

/**
 * Serves `root`, and each of `extra` (URL path -> file) beside it, on a free loopback port;
 * resolves with its base URL and a close function.
 */
export function serveDirectory(root, extra = {}) {
  return serveStatic([...Object.entries(extra), ['/', join(root, '/')]]);
}

/** Headless Debian Chromium, with the flags this machine's closed network needs. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Fails the test with anything the page logged as an error. */
export function collectPageErrors(page) {
  const errors = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}
