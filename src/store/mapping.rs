//! Domain enums in text columns: the one place that writes and reads their stored names.
//! Generic over the backend, so the same mapping serves SQLite, PostgreSQL and the
//! `MultiBackend` of [`super::Conn`].

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use crate::domain::{OperationKind, OperationStatus, Role, StackStatus};

macro_rules! text_enum {
    ($($ty:ty),+ $(,)?) => {$(
        impl<DB> ToSql<Text, DB> for $ty
        where
            DB: Backend,
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB> FromSql<Text, DB> for $ty
        where
            DB: Backend,
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                // An unknown name is corrupt data (or a newer byoc): an error, never a default.
                Ok(<String as FromSql<Text, DB>>::from_sql(bytes)?.parse()?)
            }
        }
    )+};
}

text_enum!(
    OperationKind,
    OperationStatus,
    StackStatus,
    Role,
    crate::domain::rollout::RolloutStatus,
    crate::domain::rollout::TargetStatus
);

#[cfg(test)]
mod tests {
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    use super::*;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        kind: OperationKind,
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        let mut conn = diesel::sqlite::SqliteConnection::establish(":memory:").unwrap();
        let row: Row = diesel::sql_query("SELECT ? AS kind")
            .bind::<Text, _>(OperationKind::Destroy)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(row.kind, OperationKind::Destroy);
        let bad = diesel::sql_query("SELECT 'bogus' AS kind").get_result::<Row>(&mut conn);
        assert!(bad.is_err(), "an unknown kind must not decode");
    }
}
