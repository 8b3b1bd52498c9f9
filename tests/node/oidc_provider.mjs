// A real OpenID provider (panva's oidc-provider) for the sign-in tests.
// Its development interactions accept any login name; the account's claims
// come from ACCOUNTS (JSON: login -> {name, email, groups}).
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');

const provider = new Provider(issuer, {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: process.env.REDIRECT_URIS.split(' '),
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    groups: ['groups'],
  },
  // Entra ID puts the profile and the groups in the ID token; so do we.
  conformIdTokenClaims: false,
  scopes: ['openid', 'profile', 'email', 'groups'],
  pkce: { required: () => true },
  cookies: { keys: ['anyplace-test-only'] },
  async findAccount(ctx, sub) {
    const account = accounts[sub] || { name: sub, email: `${sub}@example.test`, groups: [] };
    return {
      accountId: sub,
      async claims() {
        return { sub, preferred_username: sub, ...account };
      },
    };
  },
});
provider.proxy = false;
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
