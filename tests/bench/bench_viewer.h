/* bench_viewer.h - the viewer's figures for synctop-bench (bench_viewer.c). */
#ifndef SYNCTOP_BENCH_VIEWER_H
#define SYNCTOP_BENCH_VIEWER_H

#include <stdbool.h>

typedef void (*bench_report_fn)(const char *name, double value);

int bench_viewer_model_refresh(bench_report_fn report, bool quick);
int bench_viewer_dashboard_cpu(bench_report_fn report, bool quick);

#endif
