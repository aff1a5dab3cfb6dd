/* Staff redeem page: scan a voucher QR with the device camera (BarcodeDetector), or type it. */
(function () {
  "use strict";
  var button = document.getElementById("scan");
  var video = document.getElementById("scan-video");
  var input = document.getElementById("code");
  if (!button || !video || !input) { return; }
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  button.hidden = false;
  var stream = null;
  var timer = null;

  function stop() {
    if (timer) { clearInterval(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
    video.hidden = true;
    button.textContent = "Scan with camera";
  }

  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.hidden = false;
        button.textContent = "Stop scanning";
        return video.play();
      })
      .then(function () {
        timer = setInterval(function () {
          detector.detect(video).then(function (codes) {
            if (codes.length) {
              input.value = codes[0].rawValue;
              stop();
              var redeem = document.getElementById("redeem");
              if (redeem) { redeem.focus(); }
            }
          }).catch(function () { /* a frame that cannot be read: try the next */ });
        }, 250);
      })
      .catch(function () { stop(); input.focus(); });
  });
  var result = document.getElementById("result");
  if (result && result.textContent.trim()) { input.focus(); }
})();
