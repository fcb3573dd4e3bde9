// A recording's transcript follows playback; clicking a line seeks there and plays. Without this script the
// player still starts at ?t= (a media fragment in its src) and each line is a link to that second.
(function () {
  "use strict";
  function setup(section) {
    var media = section.querySelector("audio, video");
    var lines = Array.prototype.slice.call(section.querySelectorAll(".transcript li"));
    if (!media || !lines.length) return;
    var starts = lines.map(function (li) { return parseFloat(li.dataset.start); });
    var ends = lines.map(function (li) { return parseFloat(li.dataset.end); });
    var current = -1;
    var list = section.querySelector(".transcript");
    function mark(i) {
      if (i === current) return;
      if (current >= 0) { lines[current].classList.remove("current"); lines[current].querySelector("a").removeAttribute("aria-current"); }
      current = i;
      if (i < 0) return;
      lines[i].classList.add("current");
      lines[i].querySelector("a").setAttribute("aria-current", "time");
      // keep the line in view inside the transcript box, without moving the page
      var top = lines[i].offsetTop - list.offsetTop;
      if (top < list.scrollTop || top > list.scrollTop + list.clientHeight - lines[i].offsetHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    }
    function find(t) {
      var lo = 0, hi = starts.length - 1, found = -1;
      while (lo <= hi) { var mid = (lo + hi) >> 1; if (starts[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; } }
      // in a pause between two lines (links give whole seconds), the line about to start is the current one
      if (found + 1 < starts.length && (found < 0 || t >= ends[found]) && starts[found + 1] - t < 1) found += 1;
      return found;
    }
    media.addEventListener("timeupdate", function () { mark(find(media.currentTime)); });
    media.addEventListener("seeked", function () { mark(find(media.currentTime)); });
    list.addEventListener("click", function (ev) {
      var link = ev.target.closest("a[data-seek]");
      if (!link) return;
      ev.preventDefault();
      media.currentTime = parseFloat(link.dataset.seek);
      mark(find(media.currentTime));
      var p = media.play();
      if (p && p.catch) p.catch(function () {});
    });
    var start = parseFloat(media.dataset.start || "0");
    if (start > 0) {
      var seek = function () { if (Math.abs(media.currentTime - start) > 1) media.currentTime = start; mark(find(start)); };
      if (media.readyState >= 1) seek(); else media.addEventListener("loadedmetadata", seek, { once: true });
      mark(find(start));
      if (location.hash === "#" + section.id) section.scrollIntoView();
    }
  }
  document.querySelectorAll("[data-player]").forEach(setup);
})();
