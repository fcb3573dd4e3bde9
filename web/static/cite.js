// "Cite": a button that copies the reference shown above it. Without this script the reference is still there to
// select and copy, and the files download from their links.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      var reference = document.getElementById(button.dataset.copy);
      navigator.clipboard.writeText(reference.textContent.trim()).then(function () {
        button.textContent = button.dataset.done;
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () { /* refused: the reference stays there to select */ });
    });
  });
})();
