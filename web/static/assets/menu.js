// The navigation as a menu on phones: a button in the top bar opens and
// closes it (a disclosure: aria-expanded), so the boxes, the outbox and the
// notification switch take no room above every page. On wide screens the
// stylesheet hides the button and always shows the navigation.

// menu wires the toggle button to the navigation and returns close(),
// for the app to call when it shows another page.
export function menu(nav, toggle) {
  const set = (open) => {
    nav.classList.toggle('is-open', open);
    toggle.setAttribute('aria-expanded', String(open));
  };
  toggle.addEventListener('click', () => set(!nav.classList.contains('is-open')));
  // Escape closes the open menu from inside it, back on its button.
  nav.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !nav.classList.contains('is-open') || !toggle.getClientRects().length) return;
    set(false);
    toggle.focus();
  });
  return { close: () => set(false) };
}
