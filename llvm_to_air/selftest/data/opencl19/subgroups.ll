; ModuleID = 'src/opencl/subgroups.cl'
source_filename = "src/opencl/subgroups.cl"
target datalayout = "e-i64:64-v16:16-v24:32-v32:32-v48:64-v96:128-v192:256-v256:256-v512:512-v1024:1024-G1"
target triple = "spir64"

; Function Attrs: convergent norecurse nounwind
define dso_local spir_kernel void @subgroups(ptr addrspace(1) nocapture noundef readonly align 4 %0, ptr addrspace(1) nocapture noundef writeonly align 4 %1, ptr addrspace(1) nocapture noundef writeonly align 4 %2) local_unnamed_addr #0 !kernel_arg_addr_space !4 !kernel_arg_access_qual !5 !kernel_arg_type !6 !kernel_arg_base_type !6 !kernel_arg_type_qual !7 !kernel_arg_name !8 {
  %4 = tail call spir_func i64 @_Z13get_global_idj(i32 noundef 0) #3
  %5 = shl i64 %4, 32
  %6 = ashr exact i64 %5, 32
  %7 = getelementptr inbounds float, ptr addrspace(1) %0, i64 %6
  %8 = load float, ptr addrspace(1) %7, align 4, !tbaa !9
  %9 = tail call spir_func float @_Z20sub_group_reduce_addf(float noundef %8) #4
  %10 = tail call spir_func float @_Z19sub_group_broadcastfj(float noundef %8, i32 noundef 0) #4
  %11 = fcmp ogt float %8, 0.000000e+00
  %12 = zext i1 %11 to i32
  %13 = tail call spir_func i32 @_Z13sub_group_anyi(i32 noundef %12) #4
  %14 = tail call spir_func i32 @_Z13sub_group_alli(i32 noundef %12) #4
  tail call spir_func void @_Z17sub_group_barrierj(i32 noundef 1) #4
  %15 = fadd float %9, %10
  %16 = getelementptr inbounds float, ptr addrspace(1) %1, i64 %6
  store float %15, ptr addrspace(1) %16, align 4, !tbaa !9
  %17 = tail call spir_func i32 @_Z22get_sub_group_local_idv() #4
  %18 = icmp eq i32 %17, 0
  br i1 %18, label %19, label %35

19:                                               ; preds = %3
  %20 = tail call spir_func i32 @_Z16get_sub_group_idv() #4
  %21 = shl i32 %20, 2
  %22 = tail call spir_func i32 @_Z18get_sub_group_sizev() #4
  %23 = zext i32 %21 to i64
  %24 = getelementptr inbounds i32, ptr addrspace(1) %2, i64 %23
  store i32 %22, ptr addrspace(1) %24, align 4, !tbaa !13
  %25 = tail call spir_func i32 @_Z18get_num_sub_groupsv() #4
  %26 = or disjoint i32 %21, 1
  %27 = zext i32 %26 to i64
  %28 = getelementptr inbounds i32, ptr addrspace(1) %2, i64 %27
  store i32 %25, ptr addrspace(1) %28, align 4, !tbaa !13
  %29 = or disjoint i32 %21, 2
  %30 = zext i32 %29 to i64
  %31 = getelementptr inbounds i32, ptr addrspace(1) %2, i64 %30
  store i32 %13, ptr addrspace(1) %31, align 4, !tbaa !13
  %32 = or disjoint i32 %21, 3
  %33 = zext i32 %32 to i64
  %34 = getelementptr inbounds i32, ptr addrspace(1) %2, i64 %33
  store i32 %14, ptr addrspace(1) %34, align 4, !tbaa !13
  br label %35

35:                                               ; preds = %19, %3
  ret void
}

; Function Attrs: convergent mustprogress nofree nounwind willreturn memory(none)
declare dso_local spir_func i64 @_Z13get_global_idj(i32 noundef) local_unnamed_addr #1

; Function Attrs: convergent nounwind
declare dso_local spir_func float @_Z20sub_group_reduce_addf(float noundef) local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func float @_Z19sub_group_broadcastfj(float noundef, i32 noundef) local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func i32 @_Z13sub_group_anyi(i32 noundef) local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func i32 @_Z13sub_group_alli(i32 noundef) local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func void @_Z17sub_group_barrierj(i32 noundef) local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func i32 @_Z22get_sub_group_local_idv() local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func i32 @_Z16get_sub_group_idv() local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func i32 @_Z18get_sub_group_sizev() local_unnamed_addr #2

; Function Attrs: convergent nounwind
declare dso_local spir_func i32 @_Z18get_num_sub_groupsv() local_unnamed_addr #2

attributes #0 = { convergent norecurse nounwind "frame-pointer"="all" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "uniform-work-group-size"="false" }
attributes #1 = { convergent mustprogress nofree nounwind willreturn memory(none) "frame-pointer"="all" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #2 = { convergent nounwind "frame-pointer"="all" "no-trapping-math"="true" "stack-protector-buffer-size"="8" }
attributes #3 = { convergent nounwind willreturn memory(none) }
attributes #4 = { convergent nounwind }

!llvm.module.flags = !{!0, !1}
!opencl.ocl.version = !{!2}
!opencl.spir.version = !{!2}
!llvm.ident = !{!3}

!0 = !{i32 1, !"wchar_size", i32 4}
!1 = !{i32 7, !"frame-pointer", i32 2}
!2 = !{i32 2, i32 0}
!3 = !{!"Debian clang version 19.1.7 (3~deb12u1)"}
!4 = !{i32 1, i32 1, i32 1}
!5 = !{!"none", !"none", !"none"}
!6 = !{!"float*", !"float*", !"uint*"}
!7 = !{!"const", !"", !""}
!8 = !{!"in", !"out", !"info"}
!9 = !{!10, !10, i64 0}
!10 = !{!"float", !11, i64 0}
!11 = !{!"omnipotent char", !12, i64 0}
!12 = !{!"Simple C/C++ TBAA"}
!13 = !{!14, !14, i64 0}
!14 = !{!"int", !11, i64 0}
