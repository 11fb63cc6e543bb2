// @generated-style diesel schema; keep in sync with migrations/.

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        aws_account_id -> Text,
        aws_region -> Text,
        role_name -> Text,
        role_arn -> Text,
        external_id_sealed -> Binary,
        role_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    environment_configs (tenant_id, environment, version) {
        tenant_id -> Text,
        environment -> Text,
        version -> Integer,
        config -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stacks (stack_name) {
        stack_name -> Text,
        tenant_id -> Text,
        environment -> Text,
        status -> Text,
        outputs -> Nullable<Text>,
        error -> Nullable<Text>,
        last_operation_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        name -> Text,
        token_hash -> Text,
        role -> Text,
        tenant_scope -> Nullable<Text>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(environment_configs -> tenants (tenant_id));
diesel::joinable!(stacks -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(tenants, environment_configs, stacks, api_tokens);
