// The service worker: keeps the app shell and the wasm in a cache so that the
// app starts offline. Online, requests go to the network and refresh the cache;
// offline, the cache answers.

const CACHE = 'aether-demo-v2';
const SHELL = [
  './',
  './index.html',
  './style.css',
  './app.js',
  './list.js',
  './inspector.js',
  './pkg/index.js',
  './pkg/aether_eventstore_bg.wasm',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  if (event.request.method !== 'GET') return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreSearch: true })),
  );
});
