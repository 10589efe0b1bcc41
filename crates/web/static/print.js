// The digest's print button: a script file of its own, since the pages' content
// security policy runs no inline handler.
document.getElementById('print')?.addEventListener('click', () => window.print());
