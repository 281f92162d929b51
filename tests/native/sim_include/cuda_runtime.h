// Stands in for the CUDA runtime header when csrc/*.cu is compiled for the host simulation.
#pragma once
#include "../cuda_host_sim.h"
