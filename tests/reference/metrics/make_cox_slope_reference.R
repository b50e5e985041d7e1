# Reference values for prom.validation.survival_calibration_slope, computed with survival.
#
# Run from anywhere (reads the inputs and writes the output next to this script):
#     Rscript tests/reference/metrics/make_cox_slope_reference.R
# Needs (Debian): apt-get install r-base-core r-cran-survival
#
# Reads
#   survival_inputs.csv   time, event, risk, surv_t, group (integer times: many ties)
# Writes
#   cox_slope_ref.csv     score, ties, coef, se: coxph(Surv(time, event) ~ score,
#                         ties = ties, control = coxph.control(eps = 1e-11, iter.max = 50))
#                         for score = risk, log(-log(surv_t)) and group
#
# Every number is written with 17 significant digits.

suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(script) == 1) dirname(normalizePath(script)) else getwd()
num <- function(x) sprintf("%.17g", x)

srv <- read.csv(file.path(dir, "survival_inputs.csv"))
scores <- list(risk = srv$risk, cloglog_surv_t = log(-log(srv$surv_t)), group = srv$group)
rows <- list()
for (nm in names(scores)) for (ties in c("breslow", "efron")) {
  x <- scores[[nm]]
  f <- coxph(Surv(srv$time, srv$event) ~ x, ties = ties,
             control = coxph.control(eps = 1e-11, iter.max = 50))
  rows[[length(rows) + 1]] <- data.frame(score = nm, ties = ties, coef = num(coef(f)),
                                         se = num(sqrt(vcov(f)[1, 1])))
}
write.csv(do.call(rbind, rows), file.path(dir, "cox_slope_ref.csv"), row.names = FALSE,
          quote = FALSE)
