// Agent desktop: the agent's phone feed over server-sent events updates
// the state, the ringing/answered call and its screen pop in place, and a
// click on the district map fills lat/long. No framework, no CDN.
(function () {
  "use strict";
  var box = document.getElementById("phone");
  if (!box) { return; }
  var states = JSON.parse(box.getAttribute("data-states") || "{}");
  var labels = JSON.parse(box.getAttribute("data-labels") || "{}");
  function $(id) { return document.getElementById(id); }
  function set(id, v) { var el = $(id); if (el) { el.textContent = v; } }

  // Pause, resume and wrap-up change the state in place: a reload would
  // lose a call's outcome being typed. The answer updates the state line
  // (the feed says the same a moment later); anything but JSON (an expired
  // session's sign-in page) falls back to posting the form.
  function showState(state, label, reason) {
    set("agent-state", label || states[state] || state);
    $("agent-state").setAttribute("data-state", state);
    set("pause-reason", reason ? "(" + reason + ")" : "");
  }
  var forms = document.querySelectorAll("form[data-in-place]");
  for (var f = 0; f < forms.length; f++) {
    forms[f].addEventListener("submit", function (e) {
      var form = e.currentTarget, err = $("state-error");
      if (!window.fetch || !window.URLSearchParams || !window.FormData) { return; }
      e.preventDefault();
      var buttons = form.querySelectorAll("button");
      for (var b = 0; b < buttons.length; b++) { buttons[b].disabled = true; }
      // getAttribute: form.action is the hidden input named "action".
      fetch(form.getAttribute("action"), {method: "POST", credentials: "same-origin",
        headers: {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
        body: new URLSearchParams(new FormData(form)).toString()})
        .then(function (res) {
          var type = res.headers.get("Content-Type") || "";
          if (type.indexOf("application/json") !== 0) { throw new Error("not json"); }
          return res.json().then(function (body) {
            if (!res.ok) {
              err.textContent = body.error || res.statusText;
              err.hidden = false;
              return;
            }
            err.hidden = true;
            showState(body.state, body.label, body.pause_reason);
            var reason = form.querySelector("input[name=reason]");
            if (reason) { reason.value = ""; }
            box.setAttribute("data-state-changed", body.state);
          });
        })
        .catch(function () { form.submit(); })
        .then(function () {
          for (var b = 0; b < buttons.length; b++) { buttons[b].disabled = false; }
        });
    });
  }

  var map = $("map");
  if (map) {
    var minLong = Number(map.getAttribute("data-min-long")), maxLat = Number(map.getAttribute("data-max-lat"));
    var sx = Number(map.getAttribute("data-scale-x")), sy = Number(map.getAttribute("data-scale-y"));
    map.addEventListener("click", function (e) {
      var pt = map.createSVGPoint();
      pt.x = e.clientX; pt.y = e.clientY;
      var p = pt.matrixTransform(map.getScreenCTM().inverse());
      $("lat").value = (maxLat - p.y / sy).toFixed(5);
      $("long").value = (minLong + p.x / sx).toFixed(5);
      var pin = $("pin");
      pin.setAttribute("cx", p.x); pin.setAttribute("cy", p.y);
      var title = e.target.querySelector ? e.target.querySelector("title") : null;
      set("district", title ? title.textContent : "");
    });
  }

  if (!window.EventSource) { return; }
  var es = new EventSource(box.getAttribute("data-events"));
  es.addEventListener("feed", function (e) {
    var ev = JSON.parse(e.data);
    var call = $("call");
    switch (ev.type) {
    case "state":
      if (ev.agent) { showState(ev.agent.state, "", ev.agent.pause_reason); }
      break;
    case "ring":
      var pop = ev.screen_pop || {};
      call.setAttribute("data-call", ev.call);
      set("call-status", labels.call_ring);
      set("pop-caller", pop.caller || "—");
      set("pop-language", pop.language || "—");
      set("pop-path", (pop.ivr_path || []).join(" › ") || "—");
      var ul = $("pop-cases");
      ul.textContent = "";
      var list = ev.past_cases || [];
      if (!list.length) {
        var li0 = document.createElement("li");
        li0.className = "muted"; li0.textContent = labels.no_past_cases;
        ul.appendChild(li0);
      }
      for (var i = 0; i < list.length; i++) {
        var li = document.createElement("li"), a = document.createElement("a");
        a.href = box.getAttribute("data-events").replace(/\/phone\/events$/, "/cases/" + encodeURIComponent(list[i].tracking_code));
        a.textContent = list[i].tracking_code; a.dir = "ltr";
        li.appendChild(a);
        li.appendChild(document.createTextNode(" · " + list[i].service + " · " + list[i].status + " · " + list[i].opened));
        ul.appendChild(li);
      }
      $("call-id").value = ev.call;
      break;
    case "answered":
      if (ev.call === call.getAttribute("data-call")) { set("call-status", labels.call_answered); }
      break;
    case "ended":
      if (ev.call === call.getAttribute("data-call")) { set("call-status", labels.call_ended); }
      break;
    case "missed":
      if (ev.call === call.getAttribute("data-call")) { set("call-status", labels.call_missed); }
      break;
    }
    box.setAttribute("data-last", ev.type);
  });
})();
