// The service worker: keeps the app shell, the wasm and the sync's modules in a
// cache so that the app starts offline. Online, requests go to the network and refresh the cache;
// offline, the cache answers.

const CACHE = 'aether-demo-v3';
const SHELL = [
  './',
  './index.html',
  './style.css',
  './app.js',
  './list.js',
  './inspector.js',
  './demo-config.json',
  './pkg/index.js',
  './pkg/sync.js',
  './pkg/jetstream.js',
  './pkg/aether_eventstore_bg.wasm',
];
// The NATS client under /vendor/ is kept when first fetched (its chunks have hashed names).

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
