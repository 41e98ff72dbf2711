// Live wallboard: server-sent events replace the figures in place. No
// framework, no CDN; EventSource reconnects by itself.
(function () {
  "use strict";
  var box = document.getElementById("wallboard");
  if (!box || !window.EventSource) { return; }
  var lang = box.getAttribute("data-lang");
  function num(n) {
    var s = String(n);
    if (lang === "en") { return s; }
    return s.replace(/[0-9]/g, function (d) { return String.fromCharCode(0x06F0 + Number(d)); });
  }
  function set(id, v) {
    var el = document.getElementById(id);
    if (el) { el.textContent = num(v || 0); }
  }
  var es = new EventSource(box.getAttribute("data-events"));
  es.addEventListener("stats", function (e) {
    var s = JSON.parse(e.data);
    set("open", s.open); set("today", s.today); set("escalated", s.escalated);
    var rows = document.querySelectorAll("[id^='status-']");
    for (var i = 0; i < rows.length; i++) {
      set(rows[i].id, (s.by_status || {})[rows[i].id.slice(7)]);
    }
    var agents = document.querySelectorAll("[id^='agents-']");
    for (var j = 0; j < agents.length; j++) {
      set(agents[j].id, (s.agents || {})[agents[j].id.slice(7)]);
    }
    var qrows = document.querySelectorAll("[data-queue]");
    for (var k = 0; k < qrows.length; k++) {
      var q = (s.queues || {})[qrows[k].getAttribute("data-queue")] || {};
      var cells = qrows[k].querySelectorAll("[class^='q-']");
      for (var m = 0; m < cells.length; m++) {
        cells[m].textContent = num(q[cells[m].className.slice(2)] || 0);
      }
    }
    box.setAttribute("data-updated", String(Date.now()));
  });
})();
