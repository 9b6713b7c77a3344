// The service worker of whitecross: it shows Web Push notifications
// ({title, body, url, delivery_id} from the server) and opens the message
// when one is clicked. It caches nothing: the app needs the server anyway,
// and a cache would keep protected health information on the device.

self.addEventListener('push', (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : '' };
  }
  event.waitUntil(self.registration.showNotification(data.title || 'whitecross', {
    body: data.body || 'You have a new message.',
    tag: data.delivery_id || undefined,
    data: { url: sameOriginURL(data.url) },
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = event.notification.data?.url || '/';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      if ('focus' in client) {
        await client.focus();
        if ('navigate' in client) await client.navigate(url);
        return;
      }
    }
    await self.clients.openWindow(url);
  })());
});

// sameOriginURL keeps a notification's link on this server.
function sameOriginURL(value) {
  try {
    const url = new URL(value, self.location.origin);
    return url.origin === self.location.origin ? url.href : '/';
  } catch {
    return '/';
  }
}
