// The ticket status page, live: the server sends the re-rendered status (server-sent events) after every change
// of the queue. Without JavaScript the page reloads itself (<noscript> meta refresh) instead.
//
// The phone alert (docs/web.md, "The phone page"): every update says which alert is current (its key: this step's
// turn coming near, this call, the pickup call); a key not alerted before rings (a Web Audio beep), vibrates where
// the phone can, and flashes the title while the page is open. iOS plays sound only once a tap has unlocked it and
// asks for notifications only from a tap: that is the "Turn on alerts" button, which also subscribes to Web Push
// when the page is a secure context (HTTPS) and the browser has it.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  document.documentElement.className += " js";
  var baseTitle = document.title;
  var seen = {}; // alert keys already rung (the one shown when the page loaded included: no ring on load)
  var first = live.getAttribute("data-alert-key");
  if (first) seen[first] = true;
  var alerts = document.getElementById("alerts");
  var audio = null; // the AudioContext, made (unlocked) by a tap where the phone asks for one
  var flashTimer = null;
  var title = ""; // the current "number + what" title, "" when nothing to tell

  function show(id) {
    var el = document.getElementById(id);
    if (el) el.hidden = false;
  }

  // keep the alerts box inside the live part (an update replaces the live part's HTML, not this box)
  function placeAlerts() {
    if (!alerts) return;
    var slot = document.getElementById("alerts-slot");
    if (slot) {
      slot.appendChild(alerts);
      alerts.hidden = false;
    } else {
      alerts.hidden = true;
    }
  }

  function audioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended" && audio.resume) audio.resume();
    return audio;
  }

  // three short tones (no sound file to load); silent where the phone has not been unlocked by a tap
  function beep() {
    try {
      var ctx = audioContext();
      if (!ctx) return;
      var start = ctx.currentTime + 0.05;
      [0, 0.35, 0.7].forEach(function (offset, i) {
        var osc = ctx.createOscillator();
        var gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.value = i === 2 ? 1175 : 880;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.5, start + offset + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.3);
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(start + offset);
        osc.stop(start + offset + 0.32);
      });
    } catch (e) {
      // no sound on this phone: the banner, vibration and title still tell
    }
  }

  function vibrate(kind) {
    if (!navigator.vibrate) return;
    try {
      navigator.vibrate(kind === "near" ? [300, 150, 300] : [400, 150, 400, 150, 400]);
    } catch (e) {
      // not allowed before a tap in some browsers
    }
  }

  function steadyTitle() {
    document.title = title ? "▶ " + title : baseTitle;
  }

  function stopFlash() {
    if (flashTimer) clearInterval(flashTimer);
    flashTimer = null;
    steadyTitle();
  }

  // the tab's title alternates for a minute (or until the page is touched): seen from another tab or app switcher
  function flash() {
    if (flashTimer) clearInterval(flashTimer);
    var on = true;
    var ticks = 0;
    steadyTitle();
    flashTimer = setInterval(function () {
      on = !on;
      ticks += 1;
      document.title = on ? "▶ " + title : "▶ 🔔🔔🔔";
      if (ticks >= 60) stopFlash();
    }, 1000);
  }
  document.addEventListener("pointerdown", stopFlash);
  document.addEventListener("keydown", stopFlash);

  function ring(kind) {
    beep();
    vibrate(kind);
    flash();
  }

  function b64ToBytes(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function pushPossible() {
    return (
      alerts &&
      alerts.getAttribute("data-push-key") &&
      window.isSecureContext &&
      "serviceWorker" in navigator &&
      "PushManager" in window &&
      "Notification" in window
    );
  }

  // the browser's subscription to the server, which pushes when the page is closed
  function subscribe(permission) {
    Promise.resolve(permission)
      .then(function (answer) {
        if (answer !== "granted") throw new Error("notifications not allowed");
        return navigator.serviceWorker.register(alerts.getAttribute("data-sw-url"), {
          scope: alerts.getAttribute("data-sw-scope"),
        });
      })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (reg) {
        return reg.pushManager.getSubscription().then(function (sub) {
          return (
            sub ||
            reg.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: b64ToBytes(alerts.getAttribute("data-push-key")),
            })
          );
        });
      })
      .then(function (sub) {
        return fetch(alerts.getAttribute("data-push-url"), {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(sub),
          credentials: "same-origin",
        });
      })
      .then(function (answer) {
        if (!answer.ok) throw new Error("not kept: " + answer.status);
        show("alerts-push");
      })
      .catch(function () {
        show("alerts-nopush");
      });
  }

  function turnOn() {
    // all of this inside the tap: iOS unlocks audio and asks for notification permission only here
    try {
      var ctx = audioContext();
      if (ctx) {
        var silence = ctx.createBufferSource();
        silence.buffer = ctx.createBuffer(1, 1, 22050);
        silence.connect(ctx.destination);
        silence.start(0);
      }
    } catch (e) {
      // no Web Audio: vibration and the title still work
    }
    if (navigator.vibrate) {
      try {
        navigator.vibrate(60); // a short buzz: the phone can vibrate
      } catch (e) {
        // ignored
      }
    }
    document.getElementById("alerts-on").hidden = true;
    document.getElementById("alerts-when").hidden = true;
    show("alerts-sound");
    if (!pushPossible()) {
      show("alerts-nopush");
      return;
    }
    var permission = Notification.permission;
    if (permission === "default") {
      var asked = Notification.requestPermission(function () {}); // older Safari answers by callback only
      permission = asked && asked.then ? asked : Notification.permission;
    }
    subscribe(permission);
  }

  if (alerts) {
    document.getElementById("alerts-on").addEventListener("click", turnOn);
    placeAlerts();
  }

  var source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("ticket", function (e) {
    var d = JSON.parse(e.data);
    live.innerHTML = d.html; // rendered and escaped by the server
    placeAlerts();
    title = d.title || "";
    var key = d.alert ? d.alert.key : "";
    if (key && !seen[key]) {
      seen[key] = true;
      ring(d.alert.kind);
    } else if (!flashTimer || !title) {
      stopFlash();
    }
    // the visit just ended and the site asks for stars: load the page again, which now holds the survey form
    // (outside the live part, so later updates cannot wipe a resident's choices)
    if (d.status === "done" && live.getAttribute("data-status") !== "done" && live.getAttribute("data-survey") === "none") {
      live.setAttribute("data-status", "done");
      if (live.getAttribute("data-has-survey") === "1") {
        source.close();
        window.location.reload();
      }
    }
  });
  source.addEventListener("gone", function () {
    source.close();
    window.location.reload();
  });
})();
