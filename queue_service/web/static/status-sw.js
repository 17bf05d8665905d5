// The phone page's service worker (served as /t/sw.js, registered with the ticket's page as its scope): shows the
// alert the queue service pushes (Web Push, encrypted to this browser) while the page is closed, and opens the
// ticket's page when the notification is tapped. The payload holds the ticket's number and what to do, nothing else;
// the page to open is this registration's scope (the ticket's own page), so no token travels in a push.
"use strict";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("push", function (event) {
  var d = {};
  try {
    d = event.data ? event.data.json() : {};
  } catch (e) {
    d = {};
  }
  var options = {
    body: d.body || "",
    tag: d.tag || "ticket",
    renotify: true,
    requireInteraction: d.kind !== "near",
    vibrate: d.kind === "near" ? [300, 150, 300] : [400, 150, 400, 150, 400],
    lang: d.lang === "ja-easy" ? "ja" : d.lang || "",
    data: { kind: d.kind || "" },
  };
  event.waitUntil(self.registration.showNotification(d.title || "", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var page = self.registration.scope;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url.indexOf(page) === 0 && "focus" in windows[i]) return windows[i].focus();
      }
      return self.clients.openWindow(page);
    })
  );
});
