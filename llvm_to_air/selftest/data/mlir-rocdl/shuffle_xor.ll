; ModuleID = 'LLVMDialectModule'
source_filename = "LLVMDialectModule"
target datalayout = "e-p:64:64-p1:64:64-p2:32:32-p3:32:32-p4:64:64-p5:32:32-p6:32:32-p7:160:256:256:32-p8:128:128-p9:192:256:256:32-i64:64-v16:16-v24:32-v32:32-v48:64-v96:128-v192:256-v256:256-v512:512-v1024:1024-v2048:2048-n32:64-S32-A5-G1-ni:7:8:9"
target triple = "amdgcn-amd-amdhsa"

define amdgpu_kernel void @warp_allreduce(ptr %0, ptr %1, i64 %2, i64 %3, i64 %4, ptr %5, ptr %6, i64 %7, i64 %8, i64 %9) #0 {
  %11 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } undef, ptr %5, 0
  %12 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %11, ptr %6, 1
  %13 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %12, i64 %7, 2
  %14 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %13, i64 %8, 3, 0
  %15 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %14, i64 %9, 4, 0
  %16 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } undef, ptr %0, 0
  %17 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %16, ptr %1, 1
  %18 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %17, i64 %2, 2
  %19 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %18, i64 %3, 3, 0
  %20 = insertvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %19, i64 %4, 4, 0
  %21 = call i32 @llvm.amdgcn.workitem.id.x()
  %22 = sext i32 %21 to i64
  %23 = call i32 @llvm.amdgcn.workgroup.id.x()
  %24 = sext i32 %23 to i64
  %25 = call i64 @__ockl_get_local_size(i32 0)
  %26 = mul i64 %24, %25
  %27 = add i64 %26, %22
  %28 = extractvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %20, 1
  %29 = getelementptr float, ptr %28, i64 %27
  %30 = load float, ptr %29, align 4
  %31 = call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
  %32 = call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 %31)
  %33 = add i32 %32, 32
  %34 = and i32 %33, -32
  %35 = xor i32 %32, 16
  %36 = icmp slt i32 %35, %34
  %37 = select i1 %36, i32 %35, i32 %32
  %38 = shl i32 %37, 2
  %39 = bitcast float %30 to i32
  %40 = call i32 @llvm.amdgcn.ds.bpermute(i32 %38, i32 %39)
  %41 = bitcast i32 %40 to float
  %42 = fadd float %30, %41
  %43 = call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
  %44 = call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 %43)
  %45 = add i32 %44, 32
  %46 = and i32 %45, -32
  %47 = xor i32 %44, 8
  %48 = icmp slt i32 %47, %46
  %49 = select i1 %48, i32 %47, i32 %44
  %50 = shl i32 %49, 2
  %51 = bitcast float %42 to i32
  %52 = call i32 @llvm.amdgcn.ds.bpermute(i32 %50, i32 %51)
  %53 = bitcast i32 %52 to float
  %54 = fadd float %42, %53
  %55 = call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
  %56 = call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 %55)
  %57 = add i32 %56, 32
  %58 = and i32 %57, -32
  %59 = xor i32 %56, 4
  %60 = icmp slt i32 %59, %58
  %61 = select i1 %60, i32 %59, i32 %56
  %62 = shl i32 %61, 2
  %63 = bitcast float %54 to i32
  %64 = call i32 @llvm.amdgcn.ds.bpermute(i32 %62, i32 %63)
  %65 = bitcast i32 %64 to float
  %66 = fadd float %54, %65
  %67 = call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
  %68 = call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 %67)
  %69 = add i32 %68, 32
  %70 = and i32 %69, -32
  %71 = xor i32 %68, 2
  %72 = icmp slt i32 %71, %70
  %73 = select i1 %72, i32 %71, i32 %68
  %74 = shl i32 %73, 2
  %75 = bitcast float %66 to i32
  %76 = call i32 @llvm.amdgcn.ds.bpermute(i32 %74, i32 %75)
  %77 = bitcast i32 %76 to float
  %78 = fadd float %66, %77
  %79 = call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
  %80 = call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 %79)
  %81 = add i32 %80, 32
  %82 = and i32 %81, -32
  %83 = xor i32 %80, 1
  %84 = icmp slt i32 %83, %82
  %85 = select i1 %84, i32 %83, i32 %80
  %86 = shl i32 %85, 2
  %87 = bitcast float %78 to i32
  %88 = call i32 @llvm.amdgcn.ds.bpermute(i32 %86, i32 %87)
  %89 = bitcast i32 %88 to float
  %90 = fadd float %78, %89
  %91 = call i32 @llvm.amdgcn.mbcnt.lo(i32 -1, i32 0)
  %92 = call i32 @llvm.amdgcn.mbcnt.hi(i32 -1, i32 %91)
  %93 = add i32 %92, 32
  %94 = and i32 %93, -32
  %95 = icmp slt i32 0, %94
  %96 = select i1 %95, i32 0, i32 %92
  %97 = shl i32 %96, 2
  %98 = bitcast float %90 to i32
  %99 = call i32 @llvm.amdgcn.ds.bpermute(i32 %97, i32 %98)
  %100 = bitcast i32 %99 to float
  %101 = call float @llvm.maximum.f32(float %90, float %100)
  %102 = extractvalue { ptr, ptr, i64, [1 x i64], [1 x i64] } %15, 1
  %103 = getelementptr float, ptr %102, i64 %27
  store float %101, ptr %103, align 4
  ret void
}

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare noundef i32 @llvm.amdgcn.workitem.id.x() #1

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare noundef i32 @llvm.amdgcn.workgroup.id.x() #1

declare i64 @__ockl_get_local_size(i32)

; Function Attrs: nocallback nofree nosync nounwind willreturn memory(none)
declare i32 @llvm.amdgcn.mbcnt.lo(i32, i32) #2

; Function Attrs: nocallback nofree nosync nounwind willreturn memory(none)
declare i32 @llvm.amdgcn.mbcnt.hi(i32, i32) #2

; Function Attrs: convergent nocallback nofree nounwind willreturn memory(none)
declare i32 @llvm.amdgcn.ds.bpermute(i32, i32) #3

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare float @llvm.maximum.f32(float, float) #1

attributes #0 = { "amdgpu-flat-work-group-size"="1,256" "uniform-work-group-size"="true" }
attributes #1 = { nocallback nofree nosync nounwind speculatable willreturn memory(none) }
attributes #2 = { nocallback nofree nosync nounwind willreturn memory(none) }
attributes #3 = { convergent nocallback nofree nounwind willreturn memory(none) }

!llvm.module.flags = !{!0}

!0 = !{i32 2, !"Debug Info Version", i32 3}
