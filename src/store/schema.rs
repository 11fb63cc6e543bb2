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
        labels -> Text,
    }
}

diesel::table! {
    environment_configs (tenant_id, environment, version) {
        tenant_id -> Text,
        environment -> Text,
        version -> Integer,
        config -> Text,
        created_at -> Timestamp,
        request -> Nullable<Text>,
        created_by -> Nullable<Text>,
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
        current_operation_id -> Nullable<Text>,
        deployed_release -> Nullable<Text>,
    }
}

diesel::table! {
    operations (seq) {
        seq -> Integer,
        id -> Text,
        stack_name -> Text,
        kind -> Text,
        status -> Text,
        config_version -> Nullable<Integer>,
        executor -> Text,
        external_ref -> Nullable<Text>,
        worker_id -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        attempt -> Integer,
        cancel_requested -> Bool,
        stack_status_before -> Nullable<Text>,
        requested_by -> Nullable<Text>,
        created_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        error -> Nullable<Text>,
        summary -> Nullable<Text>,
        lease_token -> BigInt,
    }
}

diesel::table! {
    operation_events (operation_id, seq) {
        operation_id -> Text,
        seq -> Integer,
        created_at -> Timestamp,
        kind -> Text,
        payload -> Text,
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

diesel::table! {
    stack_settings (stack_name) {
        stack_name -> Text,
        settings_sealed -> Nullable<Binary>,
        check_pending -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    operation_plans (operation_id) {
        operation_id -> Text,
        plan_sealed -> Binary,
        changes -> Text,
        hold_reason -> Nullable<Text>,
        config_version -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        decision -> Nullable<Text>,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    environment_labels (tenant_id, environment) {
        tenant_id -> Text,
        environment -> Text,
        labels -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    drift_checks (stack_name) {
        stack_name -> Text,
        next_at -> Timestamp,
        running_until -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        checked_at -> Nullable<Timestamp>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Text,
        url -> Text,
        events -> Text,
        secret_sealed -> Binary,
        created_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        subscription_id -> Text,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        retry_from -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        gave_up_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (delivery_id, attempt) {
        delivery_id -> Text,
        attempt -> Integer,
        at -> Timestamp,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
        sent_by -> Nullable<Text>,
    }
}

diesel::table! {
    drift_resources (stack_name, urn) {
        stack_name -> Text,
        urn -> Text,
        resource_type -> Text,
        name -> Text,
        op -> Text,
        paths -> Text,
        first_seen -> Timestamp,
        last_seen -> Timestamp,
    }
}

diesel::table! {
    rollouts (id) {
        id -> Text,
        status -> Text,
        spec -> Text,
        max_parallel -> Integer,
        failure_budget -> Integer,
        bake_seconds -> Integer,
        wave_count -> Integer,
        current_wave -> Integer,
        wave_done_at -> Nullable<Timestamp>,
        halt_reason -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        driver_id -> Nullable<Text>,
        driver_until -> Nullable<Timestamp>,
        event_seq -> Integer,
    }
}

diesel::table! {
    rollout_targets (rollout_id, position) {
        rollout_id -> Text,
        position -> Integer,
        wave -> Integer,
        tenant_id -> Text,
        tenant_slug -> Text,
        environment -> Text,
        stack_name -> Text,
        status -> Text,
        config_version -> Nullable<Integer>,
        operation_id -> Nullable<Text>,
        error -> Nullable<Text>,
        field_errors -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rollout_events (rollout_id, seq) {
        rollout_id -> Text,
        seq -> Integer,
        created_at -> Timestamp,
        kind -> Text,
        payload -> Text,
    }
}

diesel::joinable!(rollout_targets -> rollouts (rollout_id));
diesel::joinable!(rollout_events -> rollouts (rollout_id));
diesel::joinable!(environment_configs -> tenants (tenant_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(environment_labels -> tenants (tenant_id));
diesel::joinable!(stacks -> tenants (tenant_id));
diesel::joinable!(stack_settings -> stacks (stack_name));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    environment_configs,
    stacks,
    api_tokens,
    operations,
    operation_events,
    stack_settings,
    operation_plans,
    drift_checks,
    drift_resources,
    environment_labels,
    webhook_subscriptions,
    webhook_deliveries,
    webhook_attempts,
    rollouts,
    rollout_targets,
    rollout_events
);
