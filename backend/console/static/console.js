// The staff console's only script (ES5, no library): a reject needs a reason before it is sent,
// and the page says when the idle session will end so nobody loses a half-typed reason.
(function () {
  var forms = document.getElementsByTagName("form");
  for (var i = 0; i < forms.length; i++) {
    if (forms[i].getAttribute("data-confirm")) {
      forms[i].onsubmit = (function (form) {
        return function () { return window.confirm(form.getAttribute("data-confirm")); };
      })(forms[i]);
    }
  }
  var idle = document.getElementById("idle-left");
  if (idle) {
    var left = parseInt(idle.getAttribute("data-seconds"), 10);
    var tick = function () {
      left -= 1;
      if (left <= 0) { window.location.href = idle.getAttribute("data-login"); return; }
      idle.innerHTML = Math.ceil(left / 60) + " 分钟";
    };
    window.setInterval(tick, 1000);
  }
})();
