//! API token roles and what each may do.

use super::stored::stored_enum;

stored_enum! {
    /// The role an API token carries.
    #[derive(PartialOrd, Ord)]
    pub enum Role ("role") {
        /// Read-only access.
        Viewer = "viewer",
        /// Tenants, configs and operations.
        Operator = "operator",
        /// Everything, including token management.
        Admin = "admin",
    }
}

impl Role {
    /// True when this role includes everything `required` may do.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Operator.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Admin));
    }

    #[test]
    fn role_round_trips_through_its_name() {
        for r in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
