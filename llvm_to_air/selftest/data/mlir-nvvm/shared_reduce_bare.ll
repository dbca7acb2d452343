; ModuleID = 'LLVMDialectModule'
source_filename = "LLVMDialectModule"
target triple = "nvptx64-nvidia-cuda"

@__wg_block_sum_0 = internal addrspace(3) global [256 x float] undef

define void @block_sum(ptr %0, ptr %1) {
  %3 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } undef, ptr %1, 0
  %4 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %3, ptr %1, 1
  %5 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %4, i64 0, 2
  %6 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %5, i64 4, 3, 0
  %7 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %6, i64 1, 4, 0
  %8 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } undef, ptr %0, 0
  %9 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %8, ptr %0, 1
  %10 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %9, i64 0, 2
  %11 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %10, i64 1024, 3, 0
  %12 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %11, i64 1, 4, 0
  %13 = call i32 @llvm.nvvm.read.ptx.sreg.tid.x()
  %14 = sext i32 %13 to i64
  %15 = call i32 @llvm.nvvm.read.ptx.sreg.ctaid.x()
  %16 = sext i32 %15 to i64
  %17 = mul i64 %16, 256
  %18 = add i64 %17, %14
  %19 = extractvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %12, 1
  %20 = getelementptr float, ptr %19, i64 %18
  %21 = load float, ptr %20, align 4
  %22 = getelementptr float, ptr addrspace(3) @__wg_block_sum_0, i64 %14
  store float %21, ptr addrspace(3) %22, align 4
  call void @llvm.nvvm.barrier0()
  br label %23

23:                                               ; preds = %37, %2
  %24 = phi i64 [ %39, %37 ], [ 0, %2 ]
  %25 = phi i64 [ %38, %37 ], [ 128, %2 ]
  %26 = icmp slt i64 %24, 256
  br i1 %26, label %27, label %40

27:                                               ; preds = %23
  %28 = icmp ult i64 %14, %25
  br i1 %28, label %29, label %37

29:                                               ; preds = %27
  %30 = add i64 %14, %25
  %31 = getelementptr float, ptr addrspace(3) @__wg_block_sum_0, i64 %14
  %32 = load float, ptr addrspace(3) %31, align 4
  %33 = getelementptr float, ptr addrspace(3) @__wg_block_sum_0, i64 %30
  %34 = load float, ptr addrspace(3) %33, align 4
  %35 = fadd float %32, %34
  %36 = getelementptr float, ptr addrspace(3) @__wg_block_sum_0, i64 %14
  store float %35, ptr addrspace(3) %36, align 4
  br label %37

37:                                               ; preds = %29, %27
  call void @llvm.nvvm.barrier0()
  %38 = lshr i64 %25, 1
  %39 = add i64 %24, 1
  br label %23

40:                                               ; preds = %23
  %41 = icmp eq i64 %14, 0
  br i1 %41, label %42, label %46

42:                                               ; preds = %40
  %43 = load float, ptr addrspace(3) @__wg_block_sum_0, align 4
  %44 = extractvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %7, 1
  %45 = getelementptr float, ptr %44, i64 %16
  store float %43, ptr %45, align 4
  br label %46

46:                                               ; preds = %42, %40
  ret void
}

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare noundef i32 @llvm.nvvm.read.ptx.sreg.tid.x() #0

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare noundef i32 @llvm.nvvm.read.ptx.sreg.ctaid.x() #0

; Function Attrs: convergent nocallback nounwind
declare void @llvm.nvvm.barrier0() #1

attributes #0 = { nocallback nofree nosync nounwind speculatable willreturn memory(none) }
attributes #1 = { convergent nocallback nounwind }

!llvm.module.flags = !{!0}
!nvvm.annotations = !{!1}

!0 = !{i32 2, !"Debug Info Version", i32 3}
!1 = !{ptr @block_sum, !"kernel", i32 1}
