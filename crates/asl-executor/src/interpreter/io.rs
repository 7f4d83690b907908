//! Input and output processing in AWS's order: `InputPath`, `Parameters`, `ResultSelector`,
//! `ResultPath`, `OutputPath`, and `Assign`'s variables.

use super::{At, FailKind, Failure, Run, Step, in_state};
use crate::definition::{Io, PathField, Transition};
use crate::env::{Env, Vars};
use crate::intrinsic::Resolve as _;
use crate::template::{Template, TemplateError};
use serde_json::{Map, Value, json};
use std::borrow::Cow;

impl Run {
    pub(super) fn template_failure(&self, at: At<'_>, e: TemplateError, input: &Value) -> Failure {
        match e {
            TemplateError::PathNotFound { key, path } => self.runtime(
                at,
                format_args!("The JSONPath '{path}' specified for the field '{key}' could not be found in the input '{input}'"),
            ),
            TemplateError::Intrinsic { key, message } => in_state(
                at,
                "States.IntrinsicFailure",
                FailKind::Error,
                format_args!("The function in the field '{key}' failed: {message}"),
            ),
        }
    }

    /// The effective input: `input` after `InputPath`, borrowed when the path is the default.
    pub(super) fn input_view<'v>(
        &self,
        at: At<'_>,
        vars: &Vars,
        input: &'v Value,
    ) -> Result<Cow<'v, Value>, Failure> {
        match &at.state.input_path {
            PathField::Default => Ok(Cow::Borrowed(input)),
            PathField::Null => Ok(Cow::Owned(json!({}))),
            PathField::Path(p) => {
                let env = Env {
                    data: input,
                    context: self.context(at, None, None),
                    vars,
                };
                env.resolve(p).map(Cow::Owned).ok_or_else(|| self.runtime(at, format_args!("Invalid path '{p}' : No results for path: the InputPath does not match the input '{input}'")))
            }
        }
    }

    /// The effective input of a state that needs its raw input no more.
    pub(super) fn apply_input_path(
        &self,
        at: At<'_>,
        vars: &Vars,
        input: Value,
    ) -> Result<Value, Failure> {
        match self.input_view(at, vars, &input)? {
            Cow::Borrowed(_) => Ok(input),
            Cow::Owned(v) => Ok(v),
        }
    }

    pub(super) fn apply_output_path(
        &self,
        at: At<'_>,
        vars: &Vars,
        output: Value,
    ) -> Result<Value, Failure> {
        match &at.state.output_path {
            PathField::Default => Ok(output),
            PathField::Null => Ok(json!({})),
            PathField::Path(p) => {
                let env = Env {
                    data: &output,
                    context: self.context(at, None, None),
                    vars,
                };
                env.resolve(p).ok_or_else(|| self.runtime(at, format_args!("Invalid path '{p}' : No results for path: the OutputPath does not match the output '{output}'")))
            }
        }
    }

    pub(super) fn apply_result_path(
        &self,
        at: At<'_>,
        field: &PathField,
        raw_input: Value,
        result: Value,
    ) -> Result<Value, Failure> {
        match field {
            PathField::Default => Ok(result),
            PathField::Null => Ok(raw_input),
            PathField::Path(p) => {
                if p.is_root() {
                    return Ok(result);
                }
                let mut doc = raw_input;
                if p.write(&mut doc, result).is_err() {
                    return Err(self.runtime(
                        at,
                        format_args!("Unable to apply ReferencePath {p} to input {doc}"),
                    ));
                }
                Ok(doc)
            }
        }
    }

    pub(super) fn eval_assign(
        &self,
        at: At<'_>,
        assign: Option<&Template>,
        data: &Value,
        vars: &Vars,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(t) = assign else { return Ok(None) };
        let env = Env {
            data,
            context: self.context(at, None, None),
            vars,
        };
        t.eval_object(&env)
            .map(Some)
            .map_err(|e| self.template_failure(at, e, data))
    }

    /// Applies an optional template with `$` naming `data`; without one, `data` passes through.
    pub(super) fn apply_template(
        &self,
        at: At<'_>,
        template: Option<&Template>,
        data: Value,
        vars: &Vars,
    ) -> Result<Value, Failure> {
        let Some(t) = template else { return Ok(data) };
        let env = Env {
            data: &data,
            context: self.context(at, None, None),
            vars,
        };
        t.eval(&env)
            .map_err(|e| self.template_failure(at, e, &data))
    }

    /// Ends a state that passes its effective input on (Choice, Wait): Assign sees the old
    /// variables, OutputPath applies, then the new variables take effect.
    pub(super) fn pass_on(
        &self,
        at: At<'_>,
        assign: Option<&Template>,
        effective: Value,
        vars: &mut Vars,
        next: Transition,
    ) -> Result<Step, Failure> {
        let assigned = self.eval_assign(at, assign, &effective, vars)?;
        let output = self.apply_output_path(at, vars, effective)?;
        if let Some(a) = assigned {
            vars.assign(a);
        }
        Ok(Step { output, next })
    }

    /// Finishes a state that produced `result`: ResultSelector, Assign, ResultPath, OutputPath.
    pub(super) fn finish(
        &self,
        at: At<'_>,
        io: &Io,
        raw_input: Value,
        result: Value,
        vars: &mut Vars,
    ) -> Result<Step, Failure> {
        let result = self.apply_template(at, io.result_selector.as_ref(), result, vars)?;
        let assigned = self.eval_assign(at, at.state.assign.as_ref(), &result, vars)?;
        let output = self.apply_result_path(at, &io.result_path, raw_input, result)?;
        let output = self.apply_output_path(at, vars, output)?;
        if let Some(a) = assigned {
            vars.assign(a);
        }
        Ok(Step {
            output,
            next: io.next,
        })
    }
}
