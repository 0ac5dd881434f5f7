// The public front page: what HCP is, what it does, and where each role signs in. It fetches
// nothing (no credential here), and stays light: MUI pieces and a handful of icons.
import ArrowForward from "@mui/icons-material/ArrowForward";
import AccountBalanceWalletOutlined from "@mui/icons-material/AccountBalanceWalletOutlined";
import AdminPanelSettingsOutlined from "@mui/icons-material/AdminPanelSettingsOutlined";
import BoltOutlined from "@mui/icons-material/BoltOutlined";
import BusinessOutlined from "@mui/icons-material/BusinessOutlined";
import EngineeringOutlined from "@mui/icons-material/EngineeringOutlined";
import HubOutlined from "@mui/icons-material/HubOutlined";
import MemoryOutlined from "@mui/icons-material/MemoryOutlined";
import NotificationsActiveOutlined from "@mui/icons-material/NotificationsActiveOutlined";
import SwapHoriz from "@mui/icons-material/SwapHoriz";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Container from "@mui/material/Container";
import Grid from "@mui/material/Grid";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import { ThemeProvider } from "@mui/material/styles";
import Typography from "@mui/material/Typography";
import type { SvgIconProps } from "@mui/material/SvgIcon";
import { useMemo, type ComponentType } from "react";
import { Link as RouterLink } from "react-router";
import { useAuth } from "../../auth/AuthProvider";
import { ThemeToggle } from "../../shell/ThemeToggle";
import { usePageTitle } from "../../shell/usePageTitle";
import { brand, createMaraTheme } from "../../theme/theme";

interface Feature {
  title: string;
  text: string;
  icon: ComponentType<SvgIconProps>;
}

export const FEATURES: readonly Feature[] = [
  {
    title: "Economics-driven switching",
    text: "Every site's power goes to whichever pays more right now, Bitcoin mining or AI compute, from live hashprice, GPU rates and power prices, with the switching cost counted.",
    icon: SwapHoriz,
  },
  {
    title: "Fleet control through real drivers",
    text: "ASICs and GPU servers are driven through their own interfaces: power targets, curtailment and mode changes, with every unit's state tracked.",
    icon: HubOutlined,
  },
  {
    title: "AI workloads with fair scheduling",
    text: "Customers submit training and inference jobs; a fair-share scheduler places them on free GPUs, with priorities and preemption.",
    icon: MemoryOutlined,
  },
  {
    title: "Billing and budgets",
    text: "Usage metered to the GPU-second, exact invoices, and budgets that warn before a tenant overspends.",
    icon: AccountBalanceWalletOutlined,
  },
  {
    title: "Live telemetry and alerts",
    text: "Hashrate, power and GPU use stream to the console as they change; alerts fire on stale feeds, price spikes and failing units.",
    icon: NotificationsActiveOutlined,
  },
  {
    title: "One power budget",
    text: "Mining, AI and idle capacity share each facility's limit, so the grid contract is never exceeded whatever the mix.",
    icon: BoltOutlined,
  },
];

const ROLES = [
  {
    role: "operator",
    name: "Operator",
    text: "Run the fleet: power, switching, workloads and alerts.",
    icon: EngineeringOutlined,
  },
  {
    role: "admin",
    name: "Admin",
    text: "Everything operators do, plus users, tenants and billing.",
    icon: AdminPanelSettingsOutlined,
  },
  {
    role: "customer",
    name: "Customer",
    text: "Submit AI workloads, follow them live, watch spend and budget.",
    icon: BusinessOutlined,
  },
] as const;

export default function LandingPage() {
  usePageTitle(null);
  const { user } = useAuth();
  const dark = useMemo(() => createMaraTheme("dark"), []);

  return (
    <Box sx={{ minHeight: "100vh", display: "flex", flexDirection: "column" }}>
      <ThemeProvider theme={dark}>
        <Box
          component="header"
          sx={{
            bgcolor: brand.black,
            color: "#ffffff",
            position: "relative",
            overflow: "hidden",
            // MARA's cyan/blue glow behind the hero (decoration only)
            backgroundImage:
              "radial-gradient(60rem 30rem at 85% -10%, rgba(0, 102, 255, 0.35), transparent 60%), radial-gradient(40rem 24rem at 0% 110%, rgba(0, 212, 255, 0.18), transparent 60%)",
          }}
        >
          <Container maxWidth="lg">
            <Stack direction="row" sx={{ alignItems: "center", py: 2, gap: 1 }}>
              <Box aria-hidden sx={{ width: 28, height: 28, borderRadius: 1, background: brand.gradient }} />
              <Typography component="span" variant="h6" sx={{ fontWeight: 800, letterSpacing: 0.5, flexGrow: 1 }}>
                HCP
              </Typography>
              <Link href="/docs" color="inherit" sx={{ mr: 1 }}>
                API docs
              </Link>
              <ThemeToggle />
            </Stack>
            <Box sx={{ py: { xs: 8, md: 12 }, maxWidth: 820 }}>
              <Box aria-hidden sx={{ width: 72, height: 4, borderRadius: 2, background: brand.gradient, mb: 3 }} />
              <Typography variant="h1" sx={{ fontSize: { xs: "2.4rem", md: "3.6rem" }, lineHeight: 1.1, mb: 3 }}>
                MARA Hybrid Compute Platform
              </Typography>
              <Typography variant="h5" component="p" sx={{ color: "#c5ced9", fontWeight: 400, mb: 4 }}>
                One control plane for data centres that run Bitcoin miners and AI GPUs under one power
                budget, sending every megawatt to the work that pays most.
              </Typography>
              <Stack direction={{ xs: "column", sm: "row" }} spacing={2}>
                {user ? (
                  <Button component={RouterLink} to="/app" variant="contained" size="large" endIcon={<ArrowForward />}>
                    Go to your dashboard
                  </Button>
                ) : (
                  <Button component="a" href="#sign-in" variant="contained" size="large">
                    Choose how to sign in
                  </Button>
                )}
                <Button component="a" href="#features" variant="outlined" size="large">
                  Learn more
                </Button>
              </Stack>
            </Box>
          </Container>
        </Box>
      </ThemeProvider>

      <Box component="main" sx={{ flexGrow: 1 }}>
        <Container maxWidth="lg" component="section" id="features" aria-labelledby="features-title" sx={{ py: 8 }}>
          <Typography id="features-title" variant="h2" sx={{ fontSize: { xs: "1.8rem", md: "2.2rem" }, mb: 4 }}>
            What HCP does
          </Typography>
          <Grid container spacing={3}>
            {FEATURES.map((f) => (
              <Grid key={f.title} size={{ xs: 12, sm: 6, md: 4 }}>
                <Paper variant="outlined" component="article" sx={{ p: 3, height: "100%" }}>
                  <Box
                    aria-hidden
                    sx={{
                      width: 44,
                      height: 44,
                      borderRadius: 2,
                      display: "grid",
                      placeItems: "center",
                      mb: 2,
                      color: brand.black,
                      background: brand.gradient,
                    }}
                  >
                    <f.icon />
                  </Box>
                  <Typography variant="h6" component="h3" sx={{ mb: 1 }}>
                    {f.title}
                  </Typography>
                  <Typography variant="body2" sx={{ color: "text.secondary" }}>
                    {f.text}
                  </Typography>
                </Paper>
              </Grid>
            ))}
          </Grid>
        </Container>

        <Box sx={{ bgcolor: "action.hover" }}>
          <Container maxWidth="lg" component="section" id="sign-in" aria-labelledby="roles-title" sx={{ py: 8 }}>
            <Typography id="roles-title" variant="h2" sx={{ fontSize: { xs: "1.8rem", md: "2.2rem" }, mb: 1 }}>
              Sign in
            </Typography>
            <Typography sx={{ color: "text.secondary", mb: 4 }}>
              {user ? `You are signed in as ${user.email}. ` : ""}Choose your role; each sees its own console.
            </Typography>
            <Grid container spacing={3}>
              {ROLES.map((r) => (
                <Grid key={r.role} size={{ xs: 12, md: 4 }}>
                  <Paper variant="outlined" sx={{ p: 3, height: "100%", display: "flex", flexDirection: "column", gap: 2 }}>
                    <Stack direction="row" spacing={1.5} sx={{ alignItems: "center" }}>
                      <r.icon sx={{ color: "primary.main" }} aria-hidden />
                      <Typography variant="h6" component="h3">
                        {r.name}
                      </Typography>
                    </Stack>
                    <Typography variant="body2" sx={{ color: "text.secondary", flexGrow: 1 }}>
                      {r.text}
                    </Typography>
                    <Button
                      component={RouterLink}
                      to={`/signin?role=${r.role}`}
                      variant={r.role === "customer" ? "contained" : "outlined"}
                      endIcon={<ArrowForward />}
                    >
                      Sign in as {r.name}
                    </Button>
                  </Paper>
                </Grid>
              ))}
            </Grid>
          </Container>
        </Box>
      </Box>

      <Box component="footer" sx={{ py: 3, borderTop: 1, borderColor: "divider" }}>
        <Container maxWidth="lg">
          <Stack direction={{ xs: "column", sm: "row" }} spacing={3} sx={{ color: "text.secondary" }}>
            <Typography variant="body2">HCP · MARA Hybrid Compute Platform</Typography>
            <Link href="/docs" variant="body2">
              API documentation
            </Link>
            <Link component={RouterLink} to="/app/help" variant="body2">
              Help &amp; Support
            </Link>
          </Stack>
        </Container>
      </Box>
    </Box>
  );
}
