/* The receipt check (/r/{id}/{check}, where a receipt's QR code leads): says whether the receipt
 * is genuine, with the little it may show: order, masked number, operator, amount, status. */
(function () {
  'use strict';

  var I18n = window.I18n;
  var Topup = window.Topup;

  var match = /^\/r\/([^/]+)\/([^/]+)\/?$/.exec(window.location.pathname);
  var icon = document.getElementById('result-icon');
  var title = document.getElementById('result-title');
  var sub = document.getElementById('result-sub');
  var details = document.getElementById('details');
  var answer = null; /* null until known; then the check's answer ({genuine: false} when unknown) */

  function row(label, value) {
    var wrapper = document.createElement('div');
    wrapper.appendChild(Topup.element('dt', '', label));
    wrapper.appendChild(Topup.element('dd', '', value));
    details.appendChild(wrapper);
  }

  function statusText(status) {
    return I18n.has('badge.' + status) ? I18n.t('badge.' + status)
      : I18n.has('status.' + status) ? I18n.t('status.' + status) : status;
  }

  function render() {
    if (!answer) return;
    title.removeAttribute('data-i18n');
    details.textContent = '';
    if (!answer.genuine) {
      icon.className = 'result-icon result-icon-bad';
      title.textContent = I18n.t('check.fake');
      sub.textContent = I18n.t('check.fake.sub');
      details.hidden = true;
      return;
    }
    icon.className = 'result-icon result-icon-ok';
    title.textContent = I18n.t('check.genuine');
    sub.textContent = I18n.t('check.genuine.sub');
    details.hidden = false;
    row(I18n.t('check.order'), String(answer.order_id));
    row(I18n.t('check.number'), answer.masked || '');
    var operator = answer.operator && typeof answer.operator === 'object' ? answer.operator.name : answer.operator;
    if (operator) row(I18n.t('check.operator'), I18n.operatorName(operator));
    row(I18n.t('check.amount'), I18n.money(answer.amount_minor, answer.currency || 'CNY'));
    if (answer.status) row(I18n.t('check.status'), statusText(answer.status));
    if (answer.created_at) row(I18n.t('check.time'), I18n.dateTime(answer.created_at));
  }

  I18n.onChange(render);

  if (!match) {
    answer = { genuine: false };
    render();
    return;
  }
  var path = '/portal/api/check/' + encodeURIComponent(decodeURIComponent(match[1])) + '/' +
    encodeURIComponent(decodeURIComponent(match[2]));
  Topup.api('GET', path).then(function (result) {
    if (result.status === 0 || result.status >= 500) {
      title.removeAttribute('data-i18n');
      icon.className = 'result-icon result-icon-off';
      title.textContent = Topup.problemText(result.problem, result.retryAfter);
      return;
    }
    answer = result.ok && result.data ? result.data : { genuine: false };
    render();
  });
})();
