"""Who a person is: local accounts, API tokens; OIDC and LDAP come with the portal."""
