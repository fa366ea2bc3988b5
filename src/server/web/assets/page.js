// The review page works without this script. With it, the time left until a request
// expires counts down every second, and a page marked data-refresh reloads itself while
// nobody is using it (no focus on a link, button or field, no text selected).
(function () {
  'use strict';
  function remaining(s) {
    s = Math.max(0, s);
    var pad = function (n) { return n < 10 ? '0' + n : '' + n; };
    if (s >= 3600) return Math.floor(s / 3600) + ' h ' + pad(Math.floor((s % 3600) / 60)) + ' min';
    if (s >= 60) return Math.floor(s / 60) + ' min ' + pad(s % 60) + ' s';
    return s + ' s';
  }
  function start() {
    var loaded = Date.now();
    var clocks = Array.prototype.slice.call(document.querySelectorAll('time.countdown[data-left]'));
    function tick() {
      var gone = Math.floor((Date.now() - loaded) / 1000);
      clocks.forEach(function (clock) {
        var left = parseInt(clock.getAttribute('data-left'), 10) - gone;
        clock.textContent = left > 0 ? remaining(left) : '0 s (reload to see it expired)';
      });
    }
    if (clocks.length) { tick(); setInterval(tick, 1000); }
    var every = parseInt(document.body.getAttribute('data-refresh') || '0', 10);
    if (every > 0) {
      setInterval(function () {
        var busy = document.activeElement && document.activeElement !== document.body;
        var selected = String(window.getSelection ? window.getSelection() : '') !== '';
        if (!busy && !selected && document.visibilityState === 'visible') window.location.reload();
      }, every * 1000);
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
