// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";
  var locate = document.getElementById("locate");
  if (locate && "geolocation" in navigator) {
    var status = document.getElementById("locate-status");
    locate.hidden = false;
    locate.addEventListener("click", function () {
      status.textContent = locate.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("lat").value = pos.coords.latitude.toFixed(6);
        document.getElementById("long").value = pos.coords.longitude.toFixed(6);
        status.textContent = "";
      }, function () {
        status.textContent = locate.dataset.failed;
        document.getElementById("address").focus();
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  var copy = document.getElementById("copy");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.dataset.copy).then(function () {
        copy.textContent = copy.dataset.done;
      });
    });
  }
  // A second click on "send" while the first is in flight would only find
  // the same message (the form carries a nonce), but say so by disabling it.
  var forms = document.querySelectorAll("form[method=post]");
  Array.prototype.forEach.call(forms, function (f) {
    f.addEventListener("submit", function () {
      var b = f.querySelector("button[type=submit]");
      if (b) { setTimeout(function () { b.disabled = true; }, 0); }
    });
  });
})();
