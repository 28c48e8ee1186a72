"""Collects Content-Security-Policy violations in a Playwright browser context.

Browser tests add what this collects to the errors they already fail on, so any page of a
journey that needs an inline script (or anything else the policy forbids) fails the test.
"""

from __future__ import annotations

LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  if (window.__mttqCsp) {
    window.__mttqCsp(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline')
      + ' in ' + (e.sourceFile || location.pathname) + ':' + e.lineNumber);
  }
});
"""


def watch_csp(context, errors: list[str]) -> list[str]:
    """Report every violation in any page or frame of ``context`` into ``errors``."""
    context.expose_binding("__mttqCsp", lambda source, text: errors.append("CSP: " + text))
    context.add_init_script(LISTENER)

    def on_page(page) -> None:
        page.on("console", lambda msg: errors.append("CSP console: " + msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text else None)

    for page in context.pages:
        on_page(page)
    context.on("page", on_page)
    return errors
