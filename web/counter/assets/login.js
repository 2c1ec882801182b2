/* /counter: the staff login, or where to go once logged in. */
(function () {
  'use strict';
  var Desk = window.Desk;

  function welcome(staff) {
    document.getElementById('login-form').hidden = true;
    document.getElementById('welcome').hidden = false;
    document.getElementById('welcome-who').textContent =
      staff.name + ' (' + staff.id + ') · ' + (staff.hall_name || staff.role);
  }

  Desk.page(function (state) {
    if (state.logged_in) {
      welcome(state.staff);
      return;
    }
    var form = document.getElementById('login-form');
    var message = document.getElementById('login-message');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var password = document.getElementById('password');
      Desk.api('POST', '/counter/api/login', {
        staff_id: document.getElementById('staff-id').value.trim(), password: password.value
      }).then(function (r) {
        password.value = '';
        if (!r.ok) {
          Desk.say(message, r.problem);
          return;
        }
        window.location.href = '/counter/recharge';
      });
    });
  }, false);
})();
