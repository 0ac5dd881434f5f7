// Catches a page that failed to render or to load (a lazy chunk gone after a deploy, a network
// failure) and offers a reload instead of a blank screen.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import { Component, type ErrorInfo, type ReactNode } from "react";
import { ErrorAlert } from "./ErrorAlert";

interface Props {
  children: ReactNode;
  /** changing it (e.g. the path) clears the error */
  resetKey?: unknown;
}
interface State {
  error: unknown;
  key: unknown;
}

export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null, key: this.props.resetKey };

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error("page failed", error, info.componentStack);
  }

  render() {
    if (this.state.error === null) return this.props.children;
    return (
      <Box sx={{ p: 3, maxWidth: 720, mx: "auto" }}>
        <ErrorAlert error={this.state.error} title="This page could not be shown" />
        <Button sx={{ mt: 2 }} variant="outlined" onClick={() => window.location.reload()}>
          Reload the page
        </Button>
      </Box>
    );
  }
}
