// The browser's time zone becomes the user's first default (saved at the first sign-in only).
(function () {
  var field = document.getElementById('browser-timezone');
  try { if (field) { field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } } catch (e) { /* none */ }
})();
