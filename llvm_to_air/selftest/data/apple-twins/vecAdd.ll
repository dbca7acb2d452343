; ModuleID = 'src/apple-twins/vecAdd.cl'
source_filename = "src/apple-twins/vecAdd.cl"
target datalayout = "e-i64:64-v16:16-v24:32-v32:32-v48:64-v96:128-v192:256-v256:256-v512:512-v1024:1024-G1"
target triple = "spir64"

; Function Attrs: mustprogress nofree norecurse nosync nounwind willreturn memory(argmem: readwrite)
define dso_local spir_kernel void @vecAdd(ptr addrspace(1) nocapture noundef readonly align 8 %0, ptr addrspace(1) nocapture noundef readonly align 8 %1, ptr addrspace(1) nocapture noundef writeonly align 8 %2, ptr addrspace(2) nocapture noundef readonly align 4 %3) local_unnamed_addr #0 !kernel_arg_addr_space !4 !kernel_arg_access_qual !5 !kernel_arg_type !6 !kernel_arg_base_type !7 !kernel_arg_type_qual !8 !kernel_arg_name !9 {
  %5 = load i32, ptr addrspace(2) %3, align 4, !tbaa !10
  %6 = icmp ugt i32 %5, 5
  br i1 %6, label %7, label %14

7:                                                ; preds = %4
  %8 = getelementptr inbounds i8, ptr addrspace(1) %0, i64 40
  %9 = load <2 x float>, ptr addrspace(1) %8, align 8, !tbaa !14
  %10 = getelementptr inbounds i8, ptr addrspace(1) %1, i64 40
  %11 = load <2 x float>, ptr addrspace(1) %10, align 8, !tbaa !14
  %12 = fadd reassoc nnan ninf nsz arcp afn <2 x float> %11, %9
  %13 = getelementptr inbounds i8, ptr addrspace(1) %2, i64 40
  store <2 x float> %12, ptr addrspace(1) %13, align 8, !tbaa !14
  br label %14

14:                                               ; preds = %7, %4
  ret void
}

attributes #0 = { mustprogress nofree norecurse nosync nounwind willreturn memory(argmem: readwrite) "approx-func-fp-math"="true" "frame-pointer"="all" "less-precise-fpmad"="true" "no-infs-fp-math"="true" "no-nans-fp-math"="true" "no-signed-zeros-fp-math"="true" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "uniform-work-group-size"="false" }

!llvm.module.flags = !{!0, !1}
!opencl.ocl.version = !{!2}
!opencl.spir.version = !{!2}
!llvm.ident = !{!3}

!0 = !{i32 1, !"wchar_size", i32 4}
!1 = !{i32 7, !"frame-pointer", i32 2}
!2 = !{i32 2, i32 0}
!3 = !{!"Debian clang version 19.1.7 (3~deb12u1)"}
!4 = !{i32 1, i32 1, i32 1, i32 2}
!5 = !{!"none", !"none", !"none", !"none"}
!6 = !{!"float2*", !"float2*", !"float2*", !"uint*"}
!7 = !{!"float __attribute__((ext_vector_type(2)))*", !"float __attribute__((ext_vector_type(2)))*", !"float __attribute__((ext_vector_type(2)))*", !"uint*"}
!8 = !{!"", !"", !"", !"const"}
!9 = !{!"a", !"b", !"c", !"n"}
!10 = !{!11, !11, i64 0}
!11 = !{!"int", !12, i64 0}
!12 = !{!"omnipotent char", !13, i64 0}
!13 = !{!"Simple C/C++ TBAA"}
!14 = !{!12, !12, i64 0}
