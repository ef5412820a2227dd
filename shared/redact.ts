// Keeping secrets out of answers and logs: the password of a URL (http://admin:pw@farm, redis://:pw@db),
// and setting names that hold one.

/** Every URL in `text` with its user:password replaced by "***" (the user name is kept only when alone). */
export function redactUrls(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/@"']*)@/gi, (_m, scheme: string, userinfo: string) =>
    userinfo.includes(":") ? `${scheme}***@` : `${scheme}${userinfo}@`,
  );
}

/** Setting names whose values are secrets (a password, a token, a user list with passwords, a key). */
export function isSecretName(name: string): boolean {
  return /(password|passwd|secret|token|credential|apikey|api_key|private|auth\.users)/i.test(name);
}
