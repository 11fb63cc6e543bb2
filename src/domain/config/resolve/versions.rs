//! The Kubernetes versions EKS offers and the support window of each: which versions a new
//! cluster may use, and which cost extra (extended support). Dates, never "now": the caller
//! passes the day to judge on, so resolution stays deterministic.

use chrono::NaiveDate;

/// Default Kubernetes version of a new environment: `1.35`, in EKS standard support until
/// 2027-03-27. Chosen on 2026-11-28 from the release calendar below (1.34's standard support
/// ends 2026-12-02, four days later). Revisit when the default nears end of standard support:
/// `default_version_is_in_standard_support_when_chosen` pins the day it was checked.
pub const DEFAULT_EKS_VERSION: &str = "1.35";

/// One row of the Amazon EKS Kubernetes release calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EksVersion {
    /// The minor version (`1.NN`).
    pub minor: u32,
    /// First day of extended support (billing for it starts that day, UTC).
    pub end_of_standard: NaiveDate,
    /// From this day EKS no longer creates clusters on the version.
    pub end_of_extended: NaiveDate,
}

const fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("invalid calendar date"),
    }
}

const fn row(minor: u32, end_of_standard: NaiveDate, end_of_extended: NaiveDate) -> EksVersion {
    EksVersion {
        minor,
        end_of_standard,
        end_of_extended,
    }
}

/// The EKS user guide, "Understand the Kubernetes version lifecycle on EKS", section "Amazon
/// EKS Kubernetes release calendar" (awsdocs/amazon-eks-user-guide
/// `latest/ug/versioning/kubernetes-versions.adoc`), read on 2026-11-28: rows 1.29–1.34 from
/// the page itself; the 1.35 row (EKS release 2026-01-27) as quoted from the same table by
/// endoflife.date's Amazon EKS page. No dates for 1.36 were found, so it is not offered.
/// Standard support lasts 14 months from the EKS release, extended support 12 more.
pub const CALENDAR: &[EksVersion] = &[
    row(29, day(2025, 3, 23), day(2026, 3, 23)),
    row(30, day(2025, 7, 23), day(2026, 7, 23)),
    row(31, day(2025, 11, 26), day(2026, 11, 26)),
    row(32, day(2026, 3, 23), day(2027, 3, 23)),
    row(33, day(2026, 7, 29), day(2027, 7, 29)),
    row(34, day(2026, 12, 2), day(2027, 12, 2)),
    row(35, day(2027, 3, 27), day(2028, 3, 27)),
];

/// Where a version stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// In standard support.
    Standard,
    /// In extended support: creatable, billed extra per cluster hour.
    Extended(EksVersion),
}

/// Checks `v` (`1.NN`) against the calendar on `today`: an error for a malformed, unknown or
/// no longer creatable version, else its support status.
pub fn check_version(v: &str, today: NaiveDate) -> Result<Support, String> {
    let minor = v.strip_prefix("1.").and_then(|m| {
        (!m.is_empty() && m.len() <= 2 && m.bytes().all(|b| b.is_ascii_digit()))
            .then(|| m.parse::<u32>().ok())
            .flatten()
    });
    let offered = offered_range(today);
    let Some(row) = minor.and_then(|m| CALENDAR.iter().find(|r| r.minor == m)) else {
        return Err(format!(
            "`{v}` is not an EKS version byoc offers; use {offered} (e.g. {DEFAULT_EKS_VERSION})"
        ));
    };
    if today >= row.end_of_extended {
        return Err(format!(
            "EKS no longer creates clusters on {v}: its extended support ended on {}; use \
             {offered} (e.g. {DEFAULT_EKS_VERSION})",
            row.end_of_extended
        ));
    }
    Ok(if today >= row.end_of_standard {
        Support::Extended(*row)
    } else {
        Support::Standard
    })
}

/// The warning for a version in extended support.
pub fn extended_support_warning(v: &str, row: &EksVersion) -> String {
    format!(
        "Kubernetes {v} is in EKS extended support, billed extra per cluster hour: standard \
         support ended on {}, and EKS upgrades the cluster itself after {}; {DEFAULT_EKS_VERSION} \
         is in standard support",
        row.end_of_standard, row.end_of_extended
    )
}

/// `1.A to 1.B`: the versions a new cluster may use on `today`.
fn offered_range(today: NaiveDate) -> String {
    let mut live = CALENDAR.iter().filter(|r| today < r.end_of_extended);
    match (live.next(), live.next_back()) {
        (Some(first), Some(last)) => format!("1.{} to 1.{}", first.minor, last.minor),
        (Some(only), None) => format!("1.{}", only.minor),
        _ => DEFAULT_EKS_VERSION.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The day the default was chosen (see [`DEFAULT_EKS_VERSION`]).
    const CHOSEN_ON: NaiveDate = day(2026, 11, 28);

    #[test]
    fn default_version_is_in_standard_support_when_chosen() {
        assert_eq!(
            check_version(DEFAULT_EKS_VERSION, CHOSEN_ON),
            Ok(Support::Standard)
        );
    }

    #[test]
    fn support_windows_follow_the_calendar_boundaries() {
        let v133 = CALENDAR.iter().find(|r| r.minor == 33).unwrap();
        assert_eq!(
            check_version("1.33", day(2026, 7, 28)),
            Ok(Support::Standard)
        );
        // Extended support (and its billing) starts on the end-of-standard day.
        assert_eq!(
            check_version("1.33", day(2026, 7, 29)),
            Ok(Support::Extended(*v133))
        );
        assert!(check_version("1.33", day(2027, 7, 28)).is_ok());
        let ended = check_version("1.33", day(2027, 7, 29)).unwrap_err();
        assert!(ended.contains("ended on 2027-07-29"), "{ended}");
    }

    #[test]
    fn on_the_day_chosen_three_versions_are_gone_and_two_cost_extra() {
        let status = |v: &str| check_version(v, CHOSEN_ON);
        for gone in ["1.29", "1.30", "1.31"] {
            assert!(status(gone).unwrap_err().contains("no longer creates"));
        }
        assert!(matches!(status("1.32"), Ok(Support::Extended(_))));
        assert!(matches!(status("1.33"), Ok(Support::Extended(_))));
        assert_eq!(status("1.34"), Ok(Support::Standard));
        let unknown = status("1.36").unwrap_err();
        assert!(unknown.contains("use 1.32 to 1.35"), "{unknown}");
    }

    #[test]
    fn malformed_versions_are_refused() {
        for bad in ["1.31; rm -rf /", "2.1", "1.", "1.035", "v1.33", ""] {
            assert!(check_version(bad, CHOSEN_ON).is_err(), "{bad}");
        }
    }
}
