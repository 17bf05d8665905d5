// The ticket status page, live: the server sends the re-rendered status (server-sent events) after every change
// of the queue. Without JavaScript the page reloads itself (<noscript> meta refresh) instead.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  document.documentElement.className += " js";
  var wasCalled = live.getAttribute("data-called") === "1";
  var baseTitle = document.title;
  var source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("ticket", function (e) {
    var d = JSON.parse(e.data);
    live.innerHTML = d.html; // rendered and escaped by the server
    if (d.called && !wasCalled && navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]);
    document.title = d.called ? "▶ " + d.title : baseTitle;
    wasCalled = d.called;
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
