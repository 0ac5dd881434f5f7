// An API failure for people: the API's message with the field named (describeError), in an
// Alert with role="alert" so screen readers announce it.
import Alert from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import Button from "@mui/material/Button";
import type { SxProps, Theme } from "@mui/material/styles";
import { ApiError, describeError } from "../api/errors";

export interface ErrorAlertProps {
  error: unknown;
  /** a heading, e.g. "Could not load the fleet" */
  title?: string;
  /** shows a "Try again" button */
  onRetry?: () => void;
  sx?: SxProps<Theme>;
}

export function ErrorAlert({ error, title, onRetry, sx }: ErrorAlertProps) {
  if (error === null || error === undefined || error === false) return null;
  const field = error instanceof ApiError ? error.field : undefined;
  return (
    <Alert
      severity="error"
      role="alert"
      sx={sx}
      data-field={field}
      action={
        onRetry ? (
          <Button color="inherit" size="small" onClick={onRetry}>
            Try again
          </Button>
        ) : undefined
      }
    >
      {title ? <AlertTitle>{title}</AlertTitle> : null}
      {describeError(error)}
    </Alert>
  );
}

export default ErrorAlert;
