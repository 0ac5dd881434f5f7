// Economics (operators and admins): the current plan per facility and its recommendations, price
// history, demand-response windows and backtests. The plan follows `plan.decided` events (and a
// 15 s refetch); a window created or cancelled refetches it once the planner has replanned.
import Box from "@mui/material/Box";
import Divider from "@mui/material/Divider";
import Typography from "@mui/material/Typography";
import { usePageTitle } from "../../shell/usePageTitle";
import { BacktestSection } from "./Backtest";
import { DemandResponseSection } from "./DemandResponse";
import { PlanSection, RecommendationsSection } from "./PlanParts";
import { PricesSection } from "./Prices";

export default function EconomicsPage() {
  usePageTitle("Economics");
  return (
    <Box sx={{ display: "flex", flexDirection: "column", gap: 3 }}>
      <Typography variant="h4" component="h1">Economics</Typography>
      <PlanSection />
      <RecommendationsSection />
      <Divider />
      <DemandResponseSection />
      <Divider />
      <PricesSection />
      <Divider />
      <BacktestSection />
    </Box>
  );
}
