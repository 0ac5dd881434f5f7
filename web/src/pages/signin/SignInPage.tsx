// Sign-in: e-mail and password to POST /auth/login; the API's error (401 invalid e-mail or password,
// 429 too many attempts, 422 naming the field) shows in role="alert". Then to ?next= or /app.
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import CircularProgress from "@mui/material/CircularProgress";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { Navigate, Link as RouterLink, useNavigate, useSearchParams } from "react-router";
import { describeError } from "../../api/errors";
import { useAuth } from "../../auth/AuthProvider";
import { safeNext } from "../../auth/RequireAuth";
import type { Role } from "../../auth/session";
import { ROLE_LABELS } from "../../shell/nav";
import { usePageTitle } from "../../shell/usePageTitle";
import { brand } from "../../theme/theme";

function roleParam(v: string | null): Role | null {
  return v === "admin" || v === "operator" || v === "customer" ? v : null;
}

export default function SignInPage() {
  usePageTitle("Sign in");
  const { user, signIn } = useAuth();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const role = roleParam(params.get("role"));
  const next = safeNext(params.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);

  if (user && !pending) return <Navigate to={next} replace />;

  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (pending) return;
    setPending(true);
    setError(null);
    try {
      await signIn(email.trim(), password);
      navigate(next, { replace: true });
    } catch (err) {
      setError(err);
      setPending(false);
    }
  };

  return (
    <Box
      component="main"
      sx={{
        minHeight: "100vh",
        display: "grid",
        placeItems: "center",
        px: 2,
        py: 6,
        backgroundImage: (t) =>
          t.palette.mode === "dark"
            ? "radial-gradient(50rem 24rem at 80% -10%, rgba(0, 102, 255, 0.25), transparent 60%)"
            : "radial-gradient(50rem 24rem at 80% -10%, rgba(0, 212, 255, 0.18), transparent 60%)",
      }}
    >
      <Paper variant="outlined" sx={{ width: "100%", maxWidth: 420, p: { xs: 3, sm: 4 } }}>
        <Box aria-hidden sx={{ width: 48, height: 4, borderRadius: 2, background: brand.gradient, mb: 3 }} />
        <Typography variant="h4" component="h1" sx={{ mb: 1 }}>
          Sign in
        </Typography>
        <Typography sx={{ color: "text.secondary", mb: 3 }}>
          {role ? `${ROLE_LABELS[role]} sign-in to the HCP console.` : "Sign in to the HCP console."}
        </Typography>
        <Box component="form" noValidate={false} onSubmit={onSubmit} aria-label="Sign in">
          <Stack spacing={2}>
            {error ? (
              <Alert severity="error" role="alert">
                {describeError(error)}
              </Alert>
            ) : null}
            <TextField
              label="Email"
              type="email"
              name="email"
              autoComplete="username"
              required
              // required, without the "*" in the label: its accessible name stays "Email"/"Password"
              slotProps={{ inputLabel: { required: false } }}
              fullWidth
              autoFocus
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              disabled={pending}
            />
            <TextField
              label="Password"
              type="password"
              name="password"
              autoComplete="current-password"
              required
              // required, without the "*" in the label: its accessible name stays "Email"/"Password"
              slotProps={{ inputLabel: { required: false } }}
              fullWidth
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              disabled={pending}
            />
            <Button
              type="submit"
              variant="contained"
              size="large"
              disabled={pending}
              startIcon={pending ? <CircularProgress size={18} color="inherit" aria-hidden /> : undefined}
            >
              Sign in
            </Button>
          </Stack>
        </Box>
        <Stack direction="row" spacing={2} sx={{ mt: 3 }}>
          <Link component={RouterLink} to="/" variant="body2">
            Back to the start
          </Link>
          <Link href="/docs" variant="body2">
            API docs
          </Link>
        </Stack>
      </Paper>
    </Box>
  );
}
