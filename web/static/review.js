// "Listen" plays one segment in the page's player, from its start to its end. Without this script the link
// opens the media with a #t=start,end fragment.
(function () {
  "use strict";
  var media = document.querySelector("[data-review-player] audio, [data-review-player] video");
  if (!media) return;
  var stopAt = null;
  media.addEventListener("timeupdate", function () {
    if (stopAt !== null && media.currentTime >= stopAt) { media.pause(); stopAt = null; }
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a[data-listen]");
    if (!link) return;
    ev.preventDefault();
    media.currentTime = parseFloat(link.dataset.start);
    stopAt = parseFloat(link.dataset.end);
    var p = media.play();
    if (p && p.catch) p.catch(function () {});
  });
})();
