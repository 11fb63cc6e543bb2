//! The programs this executor rendered last, by their whole input: a day-2 update renders
//! the stack's unchanged config again, and rendering + validating it (eight templates, their
//! YAML, the schema check) was the largest step between the claim and the first CLI start
//! (4.9 ms p50 in the release bench). Rendering is deterministic (`program::render`), so an
//! equal input gives the same program; nothing secret is in either (the external ID reaches
//! the program as stack config, not as text).

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::domain::config::EnvironmentConfig;
use crate::program::{Program, RenderInput};

/// How many programs are kept (a few tens of KB each).
const KEPT: usize = 8;

/// Everything a program is rendered from.
#[derive(Debug, PartialEq)]
struct Key {
    names: [String; 7],
    config: EnvironmentConfig,
}

impl Key {
    fn of(input: &RenderInput<'_>) -> Self {
        Self {
            names: [
                input.stack.to_string(),
                input.slug.to_string(),
                input.env.to_string(),
                input.account_id.to_string(),
                input.region.to_string(),
                input.tenant_role_arn.to_string(),
                input.project.to_owned(),
            ],
            config: input.config.clone(),
        }
    }
}

/// The last [`KEPT`] programs rendered, the most recent first.
#[derive(Debug, Default)]
pub(super) struct ProgramCache {
    kept: Mutex<VecDeque<(Key, Program)>>,
}

impl ProgramCache {
    /// The program for `input`: the one rendered before from an equal input, else `render`'s
    /// (kept when it succeeds; a failure is not kept).
    pub(super) fn get_or_render<E>(
        &self,
        input: &RenderInput<'_>,
        render: impl FnOnce() -> Result<Program, E>,
    ) -> Result<Program, E> {
        let key = Key::of(input);
        if let Some(program) = self.take(&key) {
            return Ok(program);
        }
        let program = render()?;
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_front((key, program.clone()));
        kept.truncate(KEPT);
        Ok(program)
    }

    /// A copy of the program kept under `key`, moved to the front.
    fn take(&self, key: &Key) -> Option<Program> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let at = kept.iter().position(|(k, _)| k == key)?;
        let entry = kept.remove(at)?;
        let program = entry.1.clone();
        kept.push_front(entry);
        Some(program)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::domain::config::{EnvironmentConfigRequest, resolve::resolve};
    use crate::domain::{AwsAccountId, AwsRegion, EnvName, RoleArn, Slug, StackName};

    fn config(cidr: Option<&str>) -> EnvironmentConfig {
        let request = EnvironmentConfigRequest {
            vpc_cidr: cidr.map(str::to_owned),
            ..EnvironmentConfigRequest::default()
        };
        let region = AwsRegion::parse("us-east-1").unwrap();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        resolve(request, &region, today).unwrap()
    }

    #[test]
    fn an_equal_input_is_rendered_once_and_any_change_renders_again() {
        let (stack, slug, env) = (
            StackName::parse("acme-prod").unwrap(),
            Slug::parse("acme").unwrap(),
            EnvName::parse("prod").unwrap(),
        );
        let account = AwsAccountId::parse("123456789012").unwrap();
        let region = AwsRegion::parse("us-east-1").unwrap();
        let role = RoleArn::parse("arn:aws:iam::123456789012:role/byoc").unwrap();
        let (a, b) = (config(None), config(Some("10.1.0.0/16")));
        let input = |config| RenderInput {
            stack: &stack,
            slug: &slug,
            env: &env,
            account_id: &account,
            region: &region,
            tenant_role_arn: &role,
            project: "p",
            config,
        };
        let cache = ProgramCache::default();
        let renders = Cell::new(0);
        let render = |text: &str| {
            renders.set(renders.get() + 1);
            Ok::<_, ()>(Program::from_yaml(text))
        };
        let first = cache.get_or_render(&input(&a), || render("a")).unwrap();
        let again = cache.get_or_render(&input(&a), || render("other")).unwrap();
        assert_eq!((first.yaml(), again.yaml(), renders.get()), ("a", "a", 1));
        let changed = cache.get_or_render(&input(&b), || render("b")).unwrap();
        assert_eq!((changed.yaml(), renders.get()), ("b", 2));
        // A failure is not kept: the next run renders again.
        let other = StackName::parse("acme-stage").unwrap();
        let failing = RenderInput {
            stack: &other,
            ..input(&a)
        };
        assert!(cache.get_or_render(&failing, || Err(())).is_err());
        let ok = cache.get_or_render(&failing, || render("s")).unwrap();
        assert_eq!((ok.yaml(), renders.get()), ("s", 3));
        // Bounded: the oldest entries go.
        for i in 0..KEPT {
            let name = StackName::parse(&format!("acme-e{i}")).unwrap();
            let one = RenderInput {
                stack: &name,
                ..input(&a)
            };
            cache.get_or_render(&one, || render("x")).unwrap();
        }
        assert_eq!(cache.kept.lock().unwrap().len(), KEPT);
        cache.get_or_render(&input(&a), || render("a2")).unwrap();
        assert_eq!(renders.get(), 3 + KEPT + 1, "the first input was dropped");
    }
}
