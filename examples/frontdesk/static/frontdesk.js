// The front desk's only script: the Provision Badge page's scan field.
// A keyboard wedge types the badge's digits and Enter into the focused
// field; Enter then selects that badge in the list of available badges
// and moves on to the access level. When no listed badge has that ID the
// form is sent as it is, and the page shows why the engine refused it.
'use strict';
document.addEventListener('DOMContentLoaded', function () {
  var scan = document.getElementById('scan');
  if (!scan) {
    return;
  }
  var status = document.getElementById('scan-status');
  scan.focus();
  scan.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter') {
      return;
    }
    var id = scan.value.trim();
    var radios = document.querySelectorAll('input[type=radio][name=badge]');
    for (var i = 0; i < radios.length; i++) {
      if (radios[i].value === id) {
        e.preventDefault();
        radios[i].checked = true;
        scan.value = '';
        status.textContent = 'Badge ' + id + ' selected.';
        var level = document.getElementById('level');
        (level || document.getElementById('save')).focus();
        return;
      }
    }
  });
});
