/* Log in (password or SMS code), register and reset: one form each, told apart by the page. */
(function () {
  'use strict';

  var I18n = window.I18n;
  var Topup = window.Topup;
  var page = document.body.getAttribute('data-page');

  var form = document.getElementById('auth-form');
  var numberInput = document.getElementById('msisdn');
  var codeInput = document.getElementById('code');
  var passwordInput = document.getElementById('password');
  var statusLine = document.getElementById('form-status');
  var submitButton = document.getElementById('submit');
  var sendButton = document.getElementById('send-code');

  var PURPOSE = { login: 'login', register: 'register', reset: 'reset' }[page];
  var DONE_TEXT = { login: 'login.done', register: 'register.done', reset: 'reset.done' }[page];

  /* Which field shows which problem. */
  var fields = {
    invalid_number: numberInput,
    unknown_operator: numberInput,
    number_not_mobile: numberInput,
    account_exists: numberInput,
    otp_wrong: codeInput,
    otp_expired: codeInput,
    otp_attempts: codeInput,
    weak_password: passwordInput,
    invalid_credentials: page === 'login' ? passwordInput : numberInput
  };

  /* ---- login: password or code, as tabs ---- */

  var mode = 'password';
  function selectTab(which, focus) {
    mode = which;
    ['password', 'code'].forEach(function (name) {
      var tab = document.getElementById('tab-' + name);
      var panel = document.getElementById('panel-' + name);
      var on = name === which;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
      if (on && focus) tab.focus();
    });
    Topup.clearErrors(form);
    Topup.setStatus(statusLine, '');
  }

  function setUpTabs() {
    var names = ['password', 'code'];
    names.forEach(function (name, index) {
      var tab = document.getElementById('tab-' + name);
      tab.addEventListener('click', function () {
        selectTab(name, false);
      });
      tab.addEventListener('keydown', function (event) {
        var step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (!step) return;
        event.preventDefault();
        selectTab(names[(index + step + names.length) % names.length], true);
      });
    });
    if (new URLSearchParams(window.location.search).get('mode') === 'code') selectTab('code', false);
  }

  /* ---- checks made here for convenience (the server checks everything again) ---- */

  function checkFields(useCode, usePassword) {
    var first = null;
    var fail = function (input, text) {
      Topup.setFieldError(input, text);
      if (!first) first = input;
    };
    if (!Topup.cleanNumber(numberInput.value)) fail(numberInput, I18n.t('err.required'));
    if (useCode && !/^\d{6}$/.test(codeInput.value.trim())) fail(codeInput, I18n.t('err.code.format'));
    if (usePassword) {
      var password = passwordInput.value;
      if (!password) fail(passwordInput, I18n.t('err.required'));
      else if (page !== 'login' && (password.length < 8 || password.length > 128 || /^\d+$/.test(password))) {
        fail(passwordInput, I18n.t('err.weak_password'));
      }
    }
    if (first) first.focus();
    return !first;
  }

  function request() {
    var msisdn = Topup.cleanNumber(numberInput.value);
    if (page === 'login') {
      if (mode === 'code') return { path: '/portal/api/login', body: { msisdn: msisdn, code: codeInput.value.trim() } };
      return { path: '/portal/api/login', body: { msisdn: msisdn, password: passwordInput.value } };
    }
    return {
      path: '/portal/api/' + page,
      body: { msisdn: msisdn, code: codeInput.value.trim(), password: passwordInput.value }
    };
  }

  function onSubmit(event) {
    event.preventDefault();
    Topup.clearErrors(form);
    Topup.setStatus(statusLine, '');
    var useCode = page !== 'login' || mode === 'code';
    var usePassword = page !== 'login' || mode === 'password';
    if (!checkFields(useCode, usePassword)) return;
    var call = request();
    submitButton.disabled = true;
    Topup.api('POST', call.path, call.body).then(function (result) {
      if (result.ok) {
        Topup.setStatus(statusLine, I18n.t(DONE_TEXT), 'ok');
        window.location.assign(Topup.nextPath(page === 'reset' ? '/account' : '/'));
        return;
      }
      submitButton.disabled = false;
      if (result.problem.code === 'invalid_credentials' && page === 'reset') {
        Topup.setFieldError(numberInput, result.problem.detail || I18n.t('err.invalid_credentials'));
        numberInput.focus();
        return;
      }
      var input = Topup.showProblem(result, fields, statusLine);
      if (input === passwordInput && page === 'login') passwordInput.select();
    });
  }

  Topup.session().then(function (session) {
    /* Someone already logged in has nothing to do on the log-in page. */
    if (session.logged_in && page === 'login') window.location.replace(Topup.nextPath('/account'));
  });

  if (page === 'login') setUpTabs();
  if (sendButton) Topup.otpButton(sendButton, numberInput, PURPOSE, statusLine);
  Topup.passwordToggle(document.getElementById('show-password'), passwordInput);
  codeInput.addEventListener('input', function () {
    /* Codes pasted with spaces or typed with full-width digits become six ASCII digits. */
    var cleaned = Topup.asciiDigits(codeInput.value).replace(/\D/g, '').slice(0, 6);
    if (cleaned !== codeInput.value) codeInput.value = cleaned;
  });
  form.addEventListener('submit', onSubmit);
})();
