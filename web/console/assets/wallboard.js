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
    var live = s.live || {};
    var prefix = box.getAttribute("data-events").replace(/\/wallboard\/events$/, "");
    fill("per-portal", live.portals, function (r) { return [[r.portal, "ltr", "th"], [r.messages], [r.cases]]; });
    fill("agent-list", live.agent_list, function (r) { return [[r.id, "ltr"], [r.state], [r.since], [r.reason]]; });
    fill("near-deadline", live.near, function (r) { return [[r.code, "ltr", "a"], [r.service], [r.dept, "ltr"], [r.due]]; }, "overdue");
    fill("escalated-list", live.escalated, function (r) { return [[r.code, "ltr", "a"], [r.service], [r.dept, "ltr"], [r.level]]; });
    function fill(id, rows, cells, mark) {
      var table = document.getElementById(id);
      if (!table || !rows) { return; }
      var body = document.createElement("tbody");
      for (var i = 0; i < rows.length; i++) {
        var tr = document.createElement("tr");
        if (mark && rows[i][mark]) { tr.className = mark; }
        var cs = cells(rows[i]);
        for (var j = 0; j < cs.length; j++) {
          var td = document.createElement(cs[j][2] === "th" ? "th" : "td");
          if (cs[j][1]) { td.dir = cs[j][1]; }
          if (cs[j][2] === "a") {
            var a = document.createElement("a");
            a.href = prefix + "/cases/" + encodeURIComponent(cs[j][0]);
            a.textContent = cs[j][0];
            td.appendChild(a);
          } else {
            td.textContent = cs[j][0] || "";
          }
          tr.appendChild(td);
        }
        body.appendChild(tr);
      }
      table.replaceChild(body, table.tBodies[0]);
    }
    box.setAttribute("data-updated", String(Date.now()));
  });
})();
