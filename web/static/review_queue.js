// "Select all on this page": one checkbox that ticks or clears every row of the queue. Without this script the
// box stays hidden and each row is ticked by hand.
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  var rows = Array.prototype.slice.call(document.querySelectorAll(".queue-rows input[type=checkbox][name=link]"));
  document.querySelector("[data-select-all-box]").hidden = false;
  function sync() {
    var ticked = rows.filter(function (box) { return box.checked; }).length;
    all.checked = ticked === rows.length;
    all.indeterminate = ticked > 0 && ticked < rows.length;
  }
  all.addEventListener("change", function () {
    rows.forEach(function (box) { box.checked = all.checked; });
  });
  rows.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
