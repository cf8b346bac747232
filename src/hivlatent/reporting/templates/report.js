// Records whether every embedded image decoded, for tests and for readers of the DOM:
// <body data-images-total data-images-loaded data-images-broken>.
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; } else { bad++; }
  }
  document.body.dataset.imagesTotal = String(imgs.length);
  document.body.dataset.imagesLoaded = String(ok);
  document.body.dataset.imagesBroken = String(bad);
});
