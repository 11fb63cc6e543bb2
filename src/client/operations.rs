//! `byoc deploy|preview|refresh|destroy`, `byoc status` and `byoc outputs`.

use serde_json::Value;

use super::Session;
use super::error::{ClientError, Exit};
use super::follow;
use super::output::{changes, text, time};
use super::terminal::read_line;
use crate::cli::{
    DestroyArgs, FollowArgs, ForgetArgs, OperationArgs, OutputsArgs, StackArgs, StackRef,
};

/// Starts `action` (`deploy`, `preview` or `refresh`) and follows it or prints it.
pub async fn start(s: &Session, action: &str, args: &OperationArgs) -> Result<Exit, ClientError> {
    let query = if args.if_idle { "?if_idle=true" } else { "" };
    let op = s
        .api
        .post(&format!("{}/{action}{query}", args.stack.api_path()), None)
        .await?;
    started(s, &op, args.follow, &args.stack).await
}

/// `byoc destroy`: confirmed by typing the stack name on a terminal, or `--yes`.
pub async fn destroy(s: &Session, args: &DestroyArgs) -> Result<Exit, ClientError> {
    if !args.yes {
        if !s.term.interactive() {
            return Err(ClientError::Usage(
                "destroy asks for confirmation on a terminal; pass --yes to destroy without asking"
                    .to_owned(),
            ));
        }
        let name = args.stack.stack_name();
        eprintln!("This destroys every resource of stack {name} in the tenant's AWS account.",);
        let answer = read_line(&format!("Type the stack name ({name}) to confirm: "))?;
        if answer.trim() != name {
            eprintln!("Not confirmed: nothing was destroyed.");
            return Err(ClientError::Reported(Exit::Usage));
        }
    }
    let op = s
        .api
        .delete(&format!("{}?confirm=true", args.stack.api_path()))
        .await?
        .ok_or_else(|| ClientError::Protocol("destroy answered without a body".to_owned()))?;
    started(s, &op, args.follow, &args.stack).await
}

/// `byoc forget`: byoc stops tracking the stack; confirmed like a destroy.
pub async fn forget(s: &Session, args: &ForgetArgs) -> Result<Exit, ClientError> {
    if !args.yes {
        if !s.term.interactive() {
            return Err(ClientError::Usage(
                "forget asks for confirmation on a terminal; pass --yes to forget without asking"
                    .to_owned(),
            ));
        }
        let name = args.stack.stack_name();
        eprintln!(
            "byoc stops tracking stack {name}. Resources, if any, stay in the tenant's AWS \
             account; nothing is destroyed."
        );
        let answer = read_line(&format!("Type the stack name ({name}) to confirm: "))?;
        if answer.trim() != name {
            eprintln!("Not confirmed: byoc still tracks the stack.");
            return Err(ClientError::Reported(Exit::Usage));
        }
    }
    let op = s
        .api
        .post(&format!("{}/forget", args.stack.api_path()), None)
        .await?;
    s.out.show(&op, |v| {
        format!(
            "Forgot stack {} (recorded as operation {}): it is not_deployed now; resources, \
             if any, stay in the account.",
            text(v, "stack_name"),
            text(v, "id")
        )
    })?;
    Ok(Exit::Succeeded)
}

/// What happens once an operation is queued: follow it (default on a terminal) or print it.
async fn started(
    s: &Session,
    op: &Value,
    follow: FollowArgs,
    stack: &StackRef,
) -> Result<Exit, ClientError> {
    if follow.choice().unwrap_or(s.term.stdout) {
        return follow::follow(s, op, Some(stack)).await;
    }
    s.out.show(op, |v| {
        let id = text(v, "id");
        format!(
            "Queued {} {id} on stack {}.\nFollow it with: byoc ops logs {id} --follow",
            text(v, "kind"),
            text(v, "stack_name"),
        )
    })?;
    Ok(Exit::Succeeded)
}

/// One operation in a line: `<id> update succeeded 2026-01-02 03:04 (3 created)`.
pub fn op_line(op: &Value) -> String {
    if op.is_null() {
        return "-".to_owned();
    }
    let mut line = format!(
        "{} {} {}",
        text(op, "id"),
        text(op, "kind"),
        text(op, "status")
    );
    if op["finished_at"].is_string() {
        line.push_str(&format!(" {}", time(op, "finished_at")));
    }
    if op["summary"].is_object() {
        line.push_str(&format!(" ({})", changes(&op["summary"])));
    }
    line
}

/// `byoc status`.
pub async fn status(s: &Session, args: &StackArgs) -> Result<Exit, ClientError> {
    let st = s
        .api
        .get(&format!("{}/status", args.stack.api_path()))
        .await?;
    s.out.show(&st, |v| {
        let outputs = v["outputs"].as_object().map_or(0, |o| o.len());
        s.out.pairs(vec![
            ("Stack", text(v, "stack_name")),
            ("Region", text(v, "aws_region")),
            ("Status", text(v, "status")),
            ("Error", text(v, "error")),
            ("Running", op_line(&v["current_operation"])),
            ("Last", op_line(&v["last_operation"])),
            (
                "Outputs",
                format!("{outputs} (byoc outputs {})", args.stack),
            ),
        ])
    })?;
    Ok(Exit::Succeeded)
}

/// `byoc outputs`.
pub async fn outputs(s: &Session, args: &OutputsArgs) -> Result<Exit, ClientError> {
    let path = if args.show_secrets {
        format!("{}/outputs?show_secrets=true", args.stack.api_path())
    } else {
        format!("{}/outputs", args.stack.api_path())
    };
    let outs = s.api.get(&path).await?;
    s.out.show(&outs, |v| {
        let rows = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, o)| {
                let value = match (&o["value"], o["secret"].as_bool()) {
                    (Value::Null, Some(true)) => "[secret]".to_owned(),
                    (Value::String(s), _) => s.clone(),
                    (other, _) => other.to_string(),
                };
                vec![name.clone(), value]
            })
            .collect();
        s.out.table(&["NAME", "VALUE"], rows)
    })?;
    Ok(Exit::Succeeded)
}
