/* Times one in-place MPI_Allreduce (fp32 sum over MPI_COMM_WORLD), as `train --distributed mpi` exchanges its gradient
   buffer once per step (BENCHMARKS.md, data-parallel training). Needs no MPI headers: Open MPI's handles are bound as
   LoraLab binds them. Build and run:
   gcc -O2 -o allreduce_time tools/allreduce_time.c /usr/lib/x86_64-linux-gnu/libmpi.so.40
   mpirun --allow-run-as-root --oversubscribe -np 2 ./allreduce_time VALUES REPEATS */
/* Open MPI's ABI without its headers (libopenmpi-dev is not installed): handles are the addresses of exported structs */
typedef void *MPI_Comm, *MPI_Datatype, *MPI_Op;
extern char ompi_mpi_comm_world[], ompi_mpi_float[], ompi_mpi_op_sum[];
#define MPI_COMM_WORLD ((MPI_Comm)ompi_mpi_comm_world)
#define MPI_FLOAT ((MPI_Datatype)ompi_mpi_float)
#define MPI_SUM ((MPI_Op)ompi_mpi_op_sum)
#define MPI_IN_PLACE ((void *)1)
int MPI_Init(int *, char ***); int MPI_Finalize(void); int MPI_Comm_rank(MPI_Comm, int *); int MPI_Barrier(MPI_Comm);
int MPI_Allreduce(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm); double MPI_Wtime(void);
#include <stdio.h>
#include <stdlib.h>
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank; MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  long n = atol(argv[1]); int reps = atoi(argv[2]);
  float *buf = calloc(n, sizeof(float)); double *t = malloc(reps * sizeof(double));
  for (int i = 0; i < 5; i++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  for (int i = 0; i < reps; i++) {
    MPI_Barrier(MPI_COMM_WORLD); double s = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    t[i] = MPI_Wtime() - s;
  }
  qsort(t, reps, sizeof(double), cmp);
  if (rank == 0) printf("%ld floats (%.2f MB): median %.3f ms, min %.3f ms over %d\n", n, n * 4 / 1e6, t[reps / 2] * 1e3, t[0] * 1e3, reps);
  MPI_Finalize(); return 0;
}
