/* The recharge page: number -> operator and products (looked up as you type) -> amount ->
 * confirmation -> payment method -> POST /portal/api/orders -> the provider's payment page. */
(function () {
  'use strict';

  var I18n = window.I18n;
  var Topup = window.Topup;
  var LOOKUP_DELAY_MS = 350;
  var PENDING_MAX_AGE_MS = 30 * 60 * 1000;
  /* Offered when the server does not list its providers; one it has not configured answers
   * provider_unavailable, shown next to the choice. */
  var DEFAULT_METHODS = [
    { provider: 'sandbox', method: 'checkout' },
    { provider: 'alipay', method: 'page' }
  ];

  var form = document.getElementById('recharge-form');
  var numberInput = document.getElementById('msisdn');
  var operatorBadge = document.getElementById('operator');
  var amountsFieldset = document.getElementById('amounts');
  var productsBox = document.getElementById('products');
  var productError = document.getElementById('product-error');
  var customBox = document.getElementById('custom');
  var amountInput = document.getElementById('amount');
  var amountHint = document.getElementById('amount-hint');
  var confirmBox = document.getElementById('confirm');
  var confirmLine = document.getElementById('confirm-line');
  var confirmDetails = document.getElementById('confirm-details');
  var methodsFieldset = document.getElementById('methods');
  var methodList = document.getElementById('method-list');
  var methodError = document.getElementById('method-error');
  var statusLine = document.getElementById('form-status');
  var payButton = document.getElementById('pay');

  var state = {
    typed: '', /* the cleaned number the lookup below is for */
    lookup: null, /* GET /portal/api/numbers answer for state.typed, or null */
    lookupSeq: 0, /* bumped per lookup and per keystroke: an older lookup's answer is dropped */
    productId: null, /* the chosen amount button */
    methods: DEFAULT_METHODS, /* [{provider, method}] offered */
    methodIndex: 0, /* the chosen one */
    idempotencyKey: null, /* the order's key ... */
    idempotencyFor: null, /* ... made for this request body */
    submitting: false, /* an order is being placed: a second press waits */
    saved: [] /* the account's numbers, offered as chips */
  };
  var lookupTimer = null; /* the debounce of the lookup as one types */

  /* ---- small helpers ---- */

  function showError(target, text) {
    if (target.tagName === 'INPUT') {
      Topup.setFieldError(target, text);
      return;
    }
    target.textContent = text;
    target.hidden = !text;
  }

  function looksComplete(cleaned) {
    var digits = cleaned.replace(/^\+/, '');
    if (cleaned.charAt(0) === '+') return digits.length >= 10;
    if (digits.indexOf('00') === 0) return digits.length >= 12;
    return digits.length >= 11;
  }

  function currentProduct() {
    if (!state.lookup || !state.productId) return null;
    var products = state.lookup.products || [];
    for (var i = 0; i < products.length; i++) if (products[i].id === state.productId) return products[i];
    return null;
  }

  function currency() {
    return (state.lookup && state.lookup.currency) || 'CNY';
  }

  /* "12.5" -> 1250 in the currency's minor units; null when it is not an amount. */
  function parseAmount(text) {
    var digits = I18n.fractionDigits(currency());
    var pattern = digits > 0 ? new RegExp('^\\d{1,9}(\\.\\d{1,' + digits + '})?$') : /^\d{1,9}$/;
    var trimmed = String(text || '').trim();
    if (!pattern.test(trimmed)) return null;
    var parts = trimmed.split('.');
    var fraction = (parts[1] || '').padEnd(digits, '0');
    return Number(parts[0]) * Math.pow(10, digits) + (digits > 0 ? Number(fraction) : 0);
  }

  /* The face value chosen, or null (with why, for a range product). */
  function chosenFace(product) {
    if (!product) return { face: null };
    if (product.kind !== 'range') return { face: product.face_value_minor };
    var minor = parseAmount(amountInput.value);
    var fits = minor !== null && minor >= product.min_minor && minor <= product.max_minor &&
      (minor - product.min_minor) % product.step_minor === 0;
    return { face: fits ? minor : null, empty: !amountInput.value.trim() };
  }

  function amountProblem(product) {
    return I18n.t('recharge.amount.invalid', {
      min: I18n.money(product.min_minor, currency(), { whole: true }),
      max: I18n.money(product.max_minor, currency(), { whole: true }),
      step: I18n.money(product.step_minor, currency(), { whole: true })
    });
  }

  function priceOf(product, face) {
    if (product.kind !== 'range') return product.price_minor;
    /* face x basis points / 10000, half away from zero, as the server prices it. */
    return Math.round((face * product.price_basis_points) / 10000);
  }

  function rangeHint(product) {
    var c = currency();
    return I18n.t('recharge.custom.hint', {
      min: I18n.money(product.min_minor, c, { whole: true }),
      max: I18n.money(product.max_minor, c, { whole: true }),
      step: I18n.money(product.step_minor, c, { whole: true })
    });
  }

  /* ---- the number and its lookup ---- */

  function resetLookup() {
    state.lookup = null;
    state.productId = null;
    operatorBadge.textContent = '';
    operatorBadge.className = 'operator';
    amountsFieldset.hidden = true;
    productsBox.textContent = '';
    customBox.hidden = true;
    render();
  }

  function lookup(cleaned) {
    var seq = ++state.lookupSeq;
    operatorBadge.textContent = I18n.t('recharge.lookup');
    operatorBadge.className = 'operator operator-busy';
    return Topup.api('GET', '/portal/api/numbers/' + encodeURIComponent(cleaned)).then(function (result) {
      if (seq !== state.lookupSeq) return false; /* a newer number was typed meanwhile */
      state.typed = cleaned;
      if (!result.ok) {
        resetLookup();
        Topup.setFieldError(numberInput, Topup.problemText(result.problem, result.retryAfter));
        return false;
      }
      Topup.setFieldError(numberInput, '');
      state.lookup = result.data;
      state.productId = null;
      renderOperator();
      renderProducts();
      render();
      return true;
    });
  }

  function onNumberInput() {
    var cleaned = Topup.cleanNumber(numberInput.value);
    clearTimeout(lookupTimer);
    Topup.setFieldError(numberInput, '');
    if (cleaned === state.typed && state.lookup) return;
    if (state.lookup || state.typed) {
      state.typed = '';
      resetLookup();
    }
    state.lookupSeq += 1; /* whatever is in flight is for another number now */
    if (!looksComplete(cleaned)) return;
    lookupTimer = setTimeout(function () {
      lookup(cleaned);
    }, LOOKUP_DELAY_MS);
  }

  function renderOperator() {
    if (!state.lookup) return;
    operatorBadge.textContent = I18n.operatorName(state.lookup.operator && state.lookup.operator.name);
    var id = (state.lookup.operator && state.lookup.operator.id) || '';
    operatorBadge.className = 'operator operator-found operator-' + id;
  }

  /* ---- products ---- */

  function sortedProducts() {
    var products = (state.lookup.products || []).slice();
    products.sort(function (a, b) {
      if ((a.kind === 'range') !== (b.kind === 'range')) return a.kind === 'range' ? 1 : -1;
      return (a.face_value_minor - b.face_value_minor) || (a.price_minor - b.price_minor);
    });
    return products;
  }

  function productTile(product) {
    var c = currency();
    var id = 'product-' + product.id;
    var wrapper = Topup.element('div', 'tile');
    var input = document.createElement('input');
    input.type = 'radio';
    input.name = 'product';
    input.id = id;
    input.value = product.id;
    input.className = 'tile-input';
    input.checked = product.id === state.productId;
    var label = Topup.element('label', 'tile-label');
    label.htmlFor = id;
    if (product.kind === 'range') {
      label.appendChild(Topup.element('span', 'tile-amount tile-amount-text', I18n.t('recharge.custom')));
      label.appendChild(Topup.element('span', 'tile-price', I18n.t('recharge.custom.tile')));
    } else {
      label.appendChild(Topup.element('span', 'tile-amount', I18n.money(product.face_value_minor, c, { whole: true })));
      var priceText = I18n.t('recharge.price', { price: I18n.money(product.price_minor, c) });
      var price = Topup.element('span', 'tile-price', priceText);
      if (product.price_minor < product.face_value_minor) price.className += ' tile-deal';
      label.appendChild(price);
    }
    input.addEventListener('change', function () {
      state.productId = product.id;
      showError(productError, '');
      render();
      if (product.kind === 'range') amountInput.focus();
    });
    wrapper.appendChild(input);
    wrapper.appendChild(label);
    return wrapper;
  }

  function renderProducts() {
    productsBox.textContent = '';
    if (!state.lookup) return;
    var products = sortedProducts();
    for (var i = 0; i < products.length; i++) productsBox.appendChild(productTile(products[i]));
    amountsFieldset.hidden = products.length === 0;
  }

  /* ---- payment methods ---- */

  function methodKey(m) {
    return 'method.' + m.provider;
  }

  function renderMethods() {
    methodList.textContent = '';
    for (var i = 0; i < state.methods.length; i++) {
      (function (index) {
        var m = state.methods[index];
        var id = 'method-' + m.provider + '-' + m.method;
        var wrapper = Topup.element('div', 'method');
        var input = document.createElement('input');
        input.type = 'radio';
        input.name = 'method';
        input.id = id;
        input.value = m.provider + ':' + m.method;
        input.className = 'tile-input';
        input.checked = index === state.methodIndex;
        var label = Topup.element('label', 'method-label');
        label.htmlFor = id;
        var logo = Topup.element('span', 'method-logo method-logo-' + m.provider);
        logo.setAttribute('aria-hidden', 'true');
        label.appendChild(logo);
        var words = Topup.element('span', 'method-words');
        var key = methodKey(m);
        words.appendChild(Topup.element('span', 'method-name', I18n.has(key) ? I18n.t(key) : m.provider));
        if (I18n.has(key + '.note')) words.appendChild(Topup.element('span', 'method-note', I18n.t(key + '.note')));
        label.appendChild(words);
        input.addEventListener('change', function () {
          state.methodIndex = index;
          showError(methodError, '');
        });
        wrapper.appendChild(input);
        wrapper.appendChild(label);
        methodList.appendChild(wrapper);
      })(i);
    }
  }

  /* The server may list what it accepts (session "providers": ["sandbox", ...] or
   * [{"provider", "method"}]); otherwise the defaults. */
  function methodsFromSession(session) {
    var listed = session && session.providers;
    if (!Array.isArray(listed) || listed.length === 0) return DEFAULT_METHODS;
    var methods = [];
    listed.forEach(function (entry) {
      var provider = typeof entry === 'string' ? entry : entry && entry.provider;
      if (!provider) return;
      var fallback = DEFAULT_METHODS.filter(function (d) { return d.provider === provider; })[0];
      var method = (entry && entry.method) || (entry && entry.methods && entry.methods[0]) ||
        (fallback ? fallback.method : 'checkout');
      methods.push({ provider: provider, method: method });
    });
    return methods.length ? methods : DEFAULT_METHODS;
  }

  /* ---- the confirmation ---- */

  /* "a · b · c" where a line may break only between the parts, never inside one. */
  function joinUnbroken(target, parts) {
    target.textContent = '';
    parts.forEach(function (part, index) {
      if (index > 0) target.appendChild(document.createTextNode(' · '));
      target.appendChild(Topup.element('span', 'unbroken', part));
    });
  }

  function render() {
    var product = currentProduct();
    customBox.hidden = !(product && product.kind === 'range');
    if (product && product.kind === 'range') amountHint.textContent = rangeHint(product);
    var chosen = chosenFace(product);
    var ready = Boolean(state.lookup && product && chosen.face !== null);
    confirmBox.hidden = !ready;
    methodsFieldset.hidden = !ready;
    if (!ready) {
      payButton.textContent = I18n.t('recharge.pay.plain');
      return;
    }
    var c = currency();
    var price = priceOf(product, chosen.face);
    joinUnbroken(confirmLine, [
      state.lookup.masked || Topup.maskNumber(state.lookup.msisdn),
      I18n.operatorName(state.lookup.operator && state.lookup.operator.name),
      I18n.money(chosen.face, c)
    ]);
    var details = [I18n.t('recharge.confirm.credit', { amount: I18n.money(chosen.face, c) }),
      I18n.t('recharge.confirm.pay', { amount: I18n.money(price, c) })];
    if (product.validity_days) details.push(I18n.t('recharge.confirm.validity', { days: product.validity_days }));
    joinUnbroken(confirmDetails, details);
    payButton.textContent = I18n.t('recharge.pay', { amount: I18n.money(price, c) });
  }

  /* ---- paying ---- */

  function orderBody() {
    var product = currentProduct();
    var chosen = chosenFace(product);
    var m = state.methods[state.methodIndex] || state.methods[0];
    var body = { msisdn: state.lookup.msisdn, product: product.id, provider: m.provider, method: m.method };
    if (product.kind === 'range') body.amount_minor = chosen.face;
    return body;
  }

  /* One key per confirmation: the same order asked again (a double click, a retry after a lost
   * answer) is the same order; anything changed is a new one. */
  function idempotencyKeyFor(body) {
    var signature = JSON.stringify(body);
    if (state.idempotencyFor !== signature) {
      state.idempotencyFor = signature;
      state.idempotencyKey = Topup.newUuid();
    }
    return state.idempotencyKey;
  }

  var FIELD_OF = {
    invalid_number: function () { return numberInput; },
    unknown_operator: function () { return numberInput; },
    number_not_mobile: function () { return numberInput; },
    subscriber_closed: function () { return numberInput; },
    subscriber_suspended: function () { return numberInput; },
    amount_not_offered: amountTarget,
    amount_zero: amountTarget,
    amount_negative: amountTarget,
    amount_overflow: amountTarget,
    amount_format: amountTarget,
    product_unknown: function () { return productError; },
    provider_unavailable: function () { return methodError; }
  };

  function amountTarget() {
    var product = currentProduct();
    return product && product.kind === 'range' ? amountInput : productError;
  }

  function showOrderProblem(result) {
    var text = Topup.problemText(result.problem, result.retryAfter);
    var where = FIELD_OF[result.problem.code];
    var target = where ? where() : null;
    if (!target && /provider|method/.test(result.problem.detail || '') && result.problem.code === 'invalid_field') {
      target = methodError;
    }
    if (!target) {
      Topup.setStatus(statusLine, text, 'error');
      return;
    }
    showError(target, text);
    if (target.tagName === 'INPUT') target.focus();
    else if (target === methodError) methodsFieldset.scrollIntoView({ block: 'nearest' });
  }

  function rememberOrder(id, access) {
    try {
      sessionStorage.setItem('topup.lastOrder', JSON.stringify({ id: id, access: access, at: Date.now() }));
    } catch (e) {
      /* storage off: the result page is still reached through the provider */
    }
  }

  function orderUrl(id, access) {
    return '/order/' + encodeURIComponent(id) + '?t=' + encodeURIComponent(access || '');
  }

  function pay() {
    var body = orderBody();
    var key = idempotencyKeyFor(body);
    state.submitting = true;
    payButton.disabled = true;
    Topup.setStatus(statusLine, I18n.t('recharge.paying'), 'info');
    Topup.api('POST', '/portal/api/orders', body, { headers: { 'Idempotency-Key': key } }).then(function (result) {
      if (!result.ok) {
        state.submitting = false;
        payButton.disabled = false;
        Topup.setStatus(statusLine, '');
        showOrderProblem(result);
        return;
      }
      var data = result.data || {};
      var order = data.order || data;
      var payment = data.payment || order.payment || {};
      rememberOrder(order.id, data.access);
      var target = orderUrl(order.id, data.access);
      if (payment.pay_url && /^https?:\/\//i.test(payment.pay_url) && payment.status !== 'paid') {
        Topup.setStatus(statusLine, I18n.t('recharge.redirecting'), 'info');
        target = payment.pay_url;
      }
      window.location.assign(target);
    });
  }

  function onSubmit(event) {
    event.preventDefault();
    if (state.submitting) return;
    Topup.setStatus(statusLine, '');
    showError(methodError, '');
    var cleaned = Topup.cleanNumber(numberInput.value);
    if (!looksComplete(cleaned)) {
      Topup.setFieldError(numberInput, cleaned ? I18n.t('recharge.number.incomplete') : I18n.t('err.required'));
      numberInput.focus();
      return;
    }
    if (!state.lookup || state.typed !== cleaned) {
      /* Enter pressed before the lookup finished: look it up now and move on to the amounts. */
      clearTimeout(lookupTimer);
      lookup(cleaned).then(function (ok) {
        var first = ok && productsBox.querySelector('input');
        if (first) first.focus();
        else numberInput.focus();
      });
      return;
    }
    var product = currentProduct();
    if (!product) {
      showError(productError, I18n.t('recharge.choose.amount'));
      var first = productsBox.querySelector('input');
      if (first) first.focus();
      return;
    }
    if (chosenFace(product).face === null) {
      Topup.setFieldError(amountInput, amountProblem(product));
      amountInput.focus();
      return;
    }
    pay();
  }

  /* ---- saved numbers, prefill, a pending order ---- */

  function renderSaved() {
    var box = document.getElementById('saved');
    var list = document.getElementById('saved-list');
    list.textContent = '';
    box.hidden = state.saved.length === 0;
    state.saved.forEach(function (number) {
      var chip = Topup.element('button', 'chip');
      chip.type = 'button';
      var name = number.own ? I18n.t('recharge.own') : (number.label || '');
      if (name) chip.appendChild(Topup.element('span', 'chip-name', name));
      chip.appendChild(Topup.element('span', 'chip-number', number.masked || Topup.maskNumber(number.msisdn)));
      chip.addEventListener('click', function () {
        numberInput.value = Topup.editableNumber(number.msisdn);
        onNumberInput();
        numberInput.focus();
      });
      list.appendChild(chip);
    });
  }

  function showPendingOrder() {
    var saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem('topup.lastOrder') || 'null');
    } catch (e) {
      saved = null;
    }
    if (!saved || !saved.id || Date.now() - saved.at > PENDING_MAX_AGE_MS) return;
    document.getElementById('pending-link').href = orderUrl(saved.id, saved.access);
    document.getElementById('pending').hidden = false;
  }

  function prefill(session) {
    var asked = new URLSearchParams(window.location.search).get('msisdn');
    var number = asked || (session.logged_in ? session.msisdn : '');
    if (number && !numberInput.value) {
      numberInput.value = Topup.editableNumber(number);
      onNumberInput();
    }
  }

  numberInput.addEventListener('input', onNumberInput);
  amountInput.addEventListener('input', function () {
    Topup.setFieldError(amountInput, '');
    render();
  });
  /* Said once the amount is typed (not at every key): what the range accepts. */
  amountInput.addEventListener('change', function () {
    var product = currentProduct();
    var chosen = chosenFace(product);
    if (product && product.kind === 'range' && chosen.face === null && !chosen.empty) {
      Topup.setFieldError(amountInput, amountProblem(product));
    }
  });
  form.addEventListener('submit', onSubmit);
  I18n.onChange(function () {
    renderOperator();
    renderProducts();
    renderMethods();
    renderSaved();
    render();
    if (numberInput.getAttribute('aria-invalid') && state.typed) lookup(state.typed);
  });
  /* Coming back from a provider's page with the browser's Back button: the page may be restored
   * from the back-forward cache with its button still busy. */
  window.addEventListener('pageshow', function () {
    state.submitting = false;
    payButton.disabled = false;
    Topup.setStatus(statusLine, '');
    showPendingOrder();
  });

  renderMethods();
  showPendingOrder();
  Topup.session().then(function (session) {
    state.methods = methodsFromSession(session);
    renderMethods();
    document.getElementById('info-account').hidden = Boolean(session.logged_in);
    prefill(session);
    if (!session.logged_in) return;
    Topup.api('GET', '/portal/api/account').then(function (result) {
      if (!result.ok || !result.data || !Array.isArray(result.data.numbers)) return;
      state.saved = result.data.numbers;
      renderSaved();
    });
  });
})();
