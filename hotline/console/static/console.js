// The seconds that tick by, counted here so the server need not send them: elements with
// data-since (epoch seconds) show the time elapsed, data-until the time left. Server and
// browser clocks are compared once, from the page's own figure (data-server-now on <body>
// would be better; the difference is at most the network delay).
(function () {
  function fmt(s) {
    s = Math.max(0, Math.floor(s));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }
  function tick() {
    var now = Date.now() / 1000 + (window.hotlineSkew || 0);
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var t = parseFloat(el.dataset.since); if (t > 0) el.textContent = fmt(now - t);
    });
    document.querySelectorAll("[data-until]").forEach(function (el) {
      var t = parseFloat(el.dataset.until); if (t > 0) el.textContent = fmt(t - now);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var sn = document.body.dataset.serverNow;
    if (sn) window.hotlineSkew = parseFloat(sn) - Date.now() / 1000;
    tick(); setInterval(tick, 1000);
  });
  document.addEventListener("htmx:sseMessage", tick);
  // Signed out elsewhere (password reset, account disabled): go to the login page.
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (e.detail && e.detail.type === "signed_out") { e.preventDefault(); window.location.reload(); }
  });
})();
