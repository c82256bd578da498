// A person at a browser, for the development IdP's own pages (stack/dev-idp/interactions.ts): the
// demo and the tests sign people in over HTTP exactly as a browser would (cookies kept, redirects
// followed, the login form submitted), so the device flow and the code flow they drive are the real
// ones. Development only: it knows this IdP's forms, no other provider's.

/** A cookie jar that honours each cookie's path, enough for one person's browser session. */
class CookieJar {
  private readonly cookies = new Map<string, { name: string; value: string; path: string }>();

  store(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';').map((p) => p.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const attr = (n: string) => attributes.find((a) => a.toLowerCase().startsWith(`${n}=`))?.slice(n.length + 1);
      const cookiePath = attr('path') ?? '/';
      const expires = attr('expires');
      const gone = !value || (expires !== undefined && Date.parse(expires) <= Date.now()) || attr('max-age') === '0';
      if (gone) this.cookies.delete(`${name};${cookiePath}`);
      else this.cookies.set(`${name};${cookiePath}`, { name, value, path: cookiePath });
    }
  }

  header(url: URL): string {
    return [...this.cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** Pages as a browser gets them: cookies kept, redirects followed (up to `stopAt`, a client's redirect URI). */
export function browser() {
  const jar = new CookieJar();
  return async (url: string, init: { method?: string; form?: URLSearchParams; stopAt?: string } = {}): Promise<{ status: number; url: URL; html: string }> => {
    let target = new URL(url);
    let method = init.method ?? 'GET';
    let body = init.form?.toString();
    for (let hops = 0; hops < 10; hops++) {
      if (init.stopAt && target.href.startsWith(init.stopAt)) return { status: 303, url: target, html: '' };
      const res = await fetch(target, {
        method,
        redirect: 'manual',
        headers: { cookie: jar.header(target), ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
      jar.store(res);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        target = new URL(location, target);
        method = 'GET';
        body = undefined;
        continue;
      }
      return { status: res.status, url: target, html: await res.text() };
    }
    throw new Error(`more than 10 redirects from ${url}`);
  };
}

export const problemOf = (html: string) => /class="problem"[^>]*>([^<]*)</.exec(html)?.[1];

/** Submits the development IdP's login form of this page; returns the page the sign-in leads to. */
export async function submitLogin(browse: ReturnType<typeof browser>, page: { url: URL; html: string; status: number }, employeeId: string, password: string, stopAt?: string) {
  const action = /<form id="login" method="post" action="([^"]+)"/.exec(page.html)?.[1];
  if (!action) throw new Error(`idp: no login page: ${problemOf(page.html) ?? page.status}`);
  return browse(new URL(action, page.url).href, { method: 'POST', form: new URLSearchParams({ username: employeeId, password }), ...(stopAt ? { stopAt } : {}) });
}

const hiddenInputs = (html: string, formId?: string): URLSearchParams => {
  const form = formId ? new RegExp(`<form[^>]*id="${formId.replace('.', '\\.')}"[\\s\\S]*?</form>`).exec(html)?.[0] : html;
  if (!form) throw new Error(`the page has no form ${formId}: ${html.slice(0, 300)}`);
  const out = new URLSearchParams();
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) out.set(m[1]!, m[2]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))));
  return out;
};

/**
 * The browser half of the device flow, as a person does it: open the verification page, type the
 * user code, confirm, sign in with employee id and password. Consent is granted by the IdP for its
 * first-party clients. Throws with the page's message when the IdP refuses (wrong password, ...).
 */
export async function completeDeviceSignIn(options: { verificationUri: string; userCode: string; employeeId: string; password: string; abort?: boolean }): Promise<void> {
  const browse = browser();
  const problem = problemOf;

  const input = await browse(options.verificationUri);
  const codeForm = hiddenInputs(input.html, 'op.deviceInputForm');
  codeForm.set('user_code', options.userCode);
  const confirm = await browse(options.verificationUri, { method: 'POST', form: codeForm });
  if (!confirm.html.includes('op.deviceConfirmForm')) throw new Error(`idp: the user code was not taken: ${problem(confirm.html) ?? confirm.status}`);
  const confirmForm = hiddenInputs(confirm.html, 'op.deviceConfirmForm');
  if (options.abort) {
    // The person presses Abort instead: the device code is denied (RFC 8628 §3.5 access_denied).
    confirmForm.set('abort', 'yes');
    const aborted = await browse(options.verificationUri, { method: 'POST', form: confirmForm });
    if (problem(aborted.html) !== 'The sign-in was aborted.') throw new Error(`idp: the abort was not taken: ${problem(aborted.html) ?? aborted.status}`);
    return;
  }
  let page = await browse(options.verificationUri, { method: 'POST', form: confirmForm });
  page = await submitLogin(browse, page, options.employeeId, options.password);
  if (!page.html.includes('id="signed-in"')) throw new Error(`idp: sign-in of ${options.employeeId} failed: ${problem(page.html) ?? page.status}`);
}

