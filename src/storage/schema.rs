// One schema for both backends; the migrations under migrations/{sqlite,postgres} must agree.

diesel::table! {
    tenants (id) {
        id -> BigInt,
        slug -> Text,
        display_name -> Text,
        auto_create_users -> Bool,
        iwms_attribute -> Nullable<Text>,
        stale_after_days -> Integer,
        allowed_return_origins -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        scim_iwms_attribute -> Nullable<Text>,
        auto_create_iwms -> Bool,
        iwms_endpoint -> Nullable<Text>,
        iwms_secret_source -> Nullable<Text>,
        iwms_events -> Text,
        iwms_join_key -> Nullable<Text>,
        forward_attributes -> Text,
    }
}

diesel::table! {
    email_domains (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        domain -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    connections (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        slug -> Text,
        protocol -> Text,
        display_name -> Text,
        attr_email -> Text,
        attr_first_name -> Text,
        attr_last_name -> Text,
        attr_iwms_id -> Nullable<Text>,
        removed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        admin_role_attribute -> Nullable<Text>,
        admin_role_value -> Nullable<Text>,
        groups_attribute -> Nullable<Text>,
        department_attribute -> Nullable<Text>,
        title_attribute -> Nullable<Text>,
        employee_number_attribute -> Nullable<Text>,
        manager_attribute -> Nullable<Text>,
    }
}

diesel::table! {
    saml_idps (connection_id) {
        connection_id -> BigInt,
        tenant_id -> BigInt,
        idp_entity_id -> Text,
        idp_sso_url -> Text,
        idp_certificates -> Text,
        allowed_algorithms -> Text,
        allow_idp_initiated -> Bool,
        sign_requests -> Bool,
        clock_skew_secs -> BigInt,
        allow_unbound_responses -> Bool,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        email -> Text,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        iwms_id -> Nullable<Text>,
        status -> Text,
        created_via -> Text,
        stale_since -> Nullable<BigInt>,
        last_login_at -> Nullable<BigInt>,
        created_at -> BigInt,
        updated_at -> BigInt,
        scim_user_name -> Nullable<Text>,
        scim_user_name_lc -> Nullable<Text>,
        external_id -> Nullable<Text>,
        display_name -> Nullable<Text>,
        nick_name -> Nullable<Text>,
        title -> Nullable<Text>,
        department -> Nullable<Text>,
        employee_number -> Nullable<Text>,
        manager_id -> Nullable<Text>,
        scim_doc -> Text,
        deprovisioned_at -> Nullable<BigInt>,
        scim_ignored -> Text,
        idp_groups -> Text,
        group_names -> Text,
        role_names -> Text,
    }
}

diesel::table! {
    identities (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        connection_id -> BigInt,
        subject -> Text,
        user_id -> BigInt,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::table! {
    user_events (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        detail -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        connection_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        outcome -> Text,
        reason -> Text,
        detail -> Text,
        subject -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    pending_authn_requests (request_id) {
        request_id -> Text,
        tenant_id -> BigInt,
        connection_id -> BigInt,
        relay_state -> Text,
        return_to -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        browser_binding -> Nullable<Text>,
        test_by -> Nullable<Text>,
        client_key -> Nullable<Text>,
        refused_at -> Nullable<BigInt>,
        console_handoff -> Nullable<Text>,
    }
}

diesel::table! {
    used_assertions (connection_id, assertion_id) {
        tenant_id -> BigInt,
        connection_id -> BigInt,
        assertion_id -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        tenant_id -> BigInt,
        user_id -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        idp_admin -> Bool,
        console_handoff -> Nullable<Text>,
        asserted_email -> Nullable<Text>,
    }
}

diesel::table! {
    oidc_providers (connection_id) {
        connection_id -> BigInt,
        tenant_id -> BigInt,
        issuer -> Text,
        client_id -> Text,
        client_secret -> Text,
        client_auth -> Text,
        scopes -> Text,
        allowed_algorithms -> Text,
        use_userinfo -> Bool,
        clock_skew_secs -> BigInt,
        metadata_json -> Text,
        jwks_json -> Text,
        jwks_fetched_at -> BigInt,
        jwks_refetch_at -> BigInt,
    }
}

diesel::table! {
    pending_oidc_requests (state_hash) {
        state_hash -> Text,
        tenant_id -> BigInt,
        connection_id -> BigInt,
        nonce -> Text,
        pkce_verifier -> Text,
        browser_binding -> Text,
        return_to -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        test_by -> Nullable<Text>,
        client_key -> Nullable<Text>,
        console_handoff -> Nullable<Text>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        tenant_id -> Nullable<BigInt>,
        actor_kind -> Text,
        actor -> Text,
        action -> Text,
        target -> Text,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    refusal_counts (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        connection_id -> BigInt,
        reason -> Text,
        hour_start -> BigInt,
        refusals -> BigInt,
        last_at -> BigInt,
        detail -> Text,
    }
}

diesel::table! {
    scim_tokens (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        label -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    user_emails (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        user_id -> BigInt,
        value -> Text,
        value_lc -> Text,
        kind -> Nullable<Text>,
        is_primary -> Bool,
    }
}

diesel::table! {
    scim_groups (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        display_name -> Text,
        external_id -> Nullable<Text>,
        scim_doc -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    group_members (group_id, user_id) {
        tenant_id -> BigInt,
        group_id -> BigInt,
        user_id -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        user_id -> BigInt,
        event -> Text,
        payload -> Text,
        idempotency_key -> Text,
        create_iwms -> Bool,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    admin_grants (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        email -> Text,
        granted_by -> Text,
        created_at -> BigInt,
        user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    admin_tokens (id) {
        id -> BigInt,
        tenant_id -> Nullable<BigInt>,
        label -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    admin_sessions (token_hash) {
        token_hash -> Text,
        tenant_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        actor -> Text,
        csrf_token -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    bootstrap_links (token_hash) {
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    role_rules (id) {
        id -> BigInt,
        tenant_id -> BigInt,
        group_name -> Text,
        group_name_lc -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_roles (user_id, role, source) {
        tenant_id -> BigInt,
        user_id -> BigInt,
        role -> Text,
        source -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(email_domains -> tenants (tenant_id));
diesel::joinable!(connections -> tenants (tenant_id));
diesel::joinable!(audit_log -> tenants (tenant_id));
diesel::joinable!(saml_idps -> connections (connection_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(identities -> users (user_id));
diesel::joinable!(identities -> connections (connection_id));
diesel::joinable!(user_events -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_emails -> users (user_id));
diesel::joinable!(group_members -> users (user_id));
diesel::joinable!(group_members -> scim_groups (group_id));

diesel::allow_tables_to_appear_in_same_query!(
    admin_grants,
    admin_tokens,
    admin_sessions,
    bootstrap_links,
    tenants,
    email_domains,
    connections,
    saml_idps,
    oidc_providers,
    pending_oidc_requests,
    users,
    identities,
    user_events,
    login_attempts,
    refusal_counts,
    audit_log,
    pending_authn_requests,
    used_assertions,
    sessions,
    scim_tokens,
    user_emails,
    scim_groups,
    group_members,
    outbox_events,
    role_rules,
    user_roles,
);
